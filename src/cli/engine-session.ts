import { createAgentRunner, type AgentSettings } from '../engine/agents/create-runner.js';
import type { ExecutionResult } from '../engine/run/orchestrator.js';
import { executionSummary } from '../engine/run/summary.js';
import type { CliIo } from './io.js';
import { EXIT_FAILED, EXIT_OK } from './io.js';
import { createLiveView, type LiveView } from './live-view.js';
import { formatSummary } from './run-output.js';

type TtyStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };

/**
 * Where human output goes: stdout, unless `--json` reserves stdout for the one JSON document,
 * in which case the dashboard and reports go to stderr.
 */
export function humanStream(io: CliIo, json: boolean): TtyStream {
  return (json ? io.stderr : io.stdout) as TtyStream;
}

export function liveViewFor(io: CliIo, json: boolean): LiveView {
  const out = humanStream(io, json);
  const tty = out.isTTY === true;
  return createLiveView(out, {
    tty,
    color: tty && io.env['NO_COLOR'] === undefined,
    columns: out.columns,
    rows: out.rows,
  });
}

export function runnerFor(agent: AgentSettings, env: Record<string, string>, repoRoot: string) {
  return createAgentRunner(agent, { env, cwd: repoRoot });
}

/** The end of `run` and `resume`: summary (or JSON), and the exit code. */
export function finish(io: CliIo, json: boolean, view: LiveView, result: ExecutionResult): number {
  view.close(result.state);
  if (json) io.stdout.write(`${JSON.stringify(executionSummary(result.state), null, 2)}\n`);
  else io.stdout.write(formatSummary(result.state, result.stateFile));
  return result.state.status === 'completed' ? EXIT_OK : EXIT_FAILED;
}
