import { setTimeout as delay } from 'node:timers/promises';
import { terminalKind } from '../terminal.js';
import { isExecutionFinished, isExecutionRunning } from '../../engine/run/executions.js';
import { isProcessAlive } from '../../engine/agents/process-group.js';
import { renderDashboard } from '../../engine/monitor/dashboard.js';
import { eventsBetween } from '../../engine/monitor/state-events.js';
import { readState } from '../../engine/monitor/state-store.js';
import { executionPaths } from '../../engine/run/paths.js';
import { executionSummary } from '../../engine/run/summary.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { EXIT_INTERRUPTED, EXIT_OK, type CliIo, type Command } from '../io.js';
import { executionFromArgs } from '../execution-arg.js';
import { createLiveView } from '../live-view.js';
import { parseOptions } from '../main.js';

const HELP = `Usage: parallel-executor status [ID] [--json | --watch]

Show an execution from its state file (default: the latest execution of this repository).

  --json   the execution as JSON: {executionId, status, running, stateFile, integration, report,
           reportCommit, tasks: [...]}
  --watch  follow it from another terminal: the live dashboard (one line per change when not a
           terminal), redrawn from the state file until the execution ends; Ctrl-C stops watching
`;

/** How often `--watch` reads the state file. */
const WATCH_INTERVAL_MS = 500;
/** A finished execution whose state file has not changed for this long is done being written. */
const SETTLED_MS = 5_000;

type TtyStream = CliIo['stdout'] & { rows?: number };

export const statusCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    json: { type: 'boolean' },
    watch: { type: 'boolean', short: 'w' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const { repoRoot, state } = await executionFromArgs('status', positionals, io.cwd);
  const stateFile = executionPaths(repoRoot, state.execution_id).stateFile;
  if (values.watch) return watch(io, stateFile, state);
  const running = isExecutionRunning(state);
  if (values.json) {
    const document = { ...executionSummary(state), running, stateFile };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return EXIT_OK;
  }
  const out = io.stdout as TtyStream;
  io.stdout.write(
    renderDashboard(state, {
      now: new Date(),
      width: out.columns ?? 100,
      color: terminalKind(io.env, out.isTTY).color,
    }),
  );
  writeEnding(io, state, stateFile);
  return EXIT_OK;
};

function writeEnding(io: CliIo, state: ExecutionState, stateFile: string): void {
  const running = isExecutionRunning(state);
  const finished = [
    state.integration === null
      ? null
      : `Integration branch: ${state.integration.branch} (merged ${state.integration.merged.length} of ${state.task_order.length})`,
    state.report_path === null ? null : `Report: ${state.report_path}`,
  ].filter((line): line is string => line !== null);
  for (const line of finished) io.stdout.write(`${line}\n`);
  const where = `State: ${stateFile}`;
  const next =
    state.status === 'in_progress' && !running
      ? `\nIts orchestrator is gone: continue with \`parallel-executor resume ${state.execution_id}\`.`
      : state.status === 'cancelled'
        ? `\nStopped: continue with \`parallel-executor resume ${state.execution_id}\`.`
        : '';
  io.stdout.write(`${where}${next}\n`);
}

/**
 * `status --watch`: the run's own live view, fed from the state file the orchestrator keeps
 * writing, until the execution has finished and its orchestrator is gone (the report and the
 * clean-up come after the final status), or the orchestrator died.
 */
async function watch(io: CliIo, stateFile: string, first: ExecutionState): Promise<number> {
  const out = io.stdout as TtyStream;
  const terminal = terminalKind(io.env, out.isTTY);
  const view = createLiveView(out, {
    tty: terminal.live,
    color: terminal.color,
    size: () => ({ columns: out.columns, rows: out.rows }),
  });
  let state = first;
  let previous: ExecutionState | null = null;
  let unchangedSince = Date.now();
  try {
    for (;;) {
      const events = eventsBetween(previous, state);
      for (const event of events) view.onEvent(event, state);
      if (events.length > 0 || previous === null) unchangedSince = Date.now();
      previous = state;
      if (watchIsOver(state, unchangedSince)) break;
      await delay(WATCH_INTERVAL_MS, undefined, { signal: io.signal });
      // A write in progress is a rename away: a failed read is retried at the next tick.
      state = await readState(stateFile).catch(() => state);
    }
  } catch (error) {
    if (!io.signal.aborted) throw error;
    view.close(state);
    return EXIT_INTERRUPTED;
  }
  view.close(state);
  writeEnding(io, state, stateFile);
  return EXIT_OK;
}

function watchIsOver(state: ExecutionState, unchangedSince: number): boolean {
  const pid = state.orchestrator_pid;
  const alive = pid !== null && isProcessAlive(pid);
  if (!isExecutionFinished(state)) return !alive;
  return !alive || Date.now() - unchangedSince > SETTLED_MS;
}
