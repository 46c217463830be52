import { createAgentRunner, type AgentSettings } from '../engine/agents/create-runner.js';
import { createFinisher, type Finisher, type FinishOutcome } from '../engine/finish/finisher.js';
import type { FinishSettings } from '../engine/finish/settings.js';
import type { ExecutionEvent } from '../engine/monitor/events.js';
import type { ExecutionState } from '../engine/monitor/state.js';
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

export type ViewListener = (event: ExecutionEvent, state: ExecutionState) => void;

/** Validation, integration, report and clean-up for `run` and `resume`, reporting to the view. */
export function finisherFor(
  settings: FinishSettings,
  env: Record<string, string>,
  io: CliIo,
  onEvent: ViewListener,
): Finisher {
  return createFinisher({ settings, env, signal: io.signal, onEvent });
}

/**
 * The end of `run` and `resume`: summary (or JSON), and the exit code — 0 only when every task
 * landed on the integration branch.
 */
export function finish(
  io: CliIo,
  json: boolean,
  view: LiveView,
  result: ExecutionResult,
  outcome: FinishOutcome | null = null,
): number {
  view.close(result.state);
  if (json) {
    const document = { ...executionSummary(result.state), ...finishDocument(outcome) };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    io.stdout.write(formatSummary(result.state, result.stateFile, outcome));
  }
  return result.state.status === 'completed' ? EXIT_OK : EXIT_FAILED;
}

/** What the finishing steps add to the JSON document beyond the state. */
function finishDocument(outcome: FinishOutcome | null) {
  if (outcome === null) return {};
  return {
    writeBack: outcome.report?.writeBack ?? null,
    kept: outcome.kept,
    cleanup:
      outcome.cleanup === null
        ? null
        : {
            complete: outcome.cleanup.complete,
            archives: outcome.cleanup.archives.flatMap((a) =>
              a.archive === null ? [] : [a.archive],
            ),
            removed: outcome.cleanup.items.filter((item) => item.action === 'removed').length,
            errors: outcome.cleanup.errors,
          },
    errors: [outcome.integrationError, outcome.reportError].filter((e): e is string => e !== null),
  };
}
