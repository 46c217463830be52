import { terminalKind } from '../terminal.js';
import { isExecutionRunning } from '../../engine/run/executions.js';
import { renderDashboard } from '../../engine/monitor/dashboard.js';
import { executionPaths } from '../../engine/run/paths.js';
import { executionSummary } from '../../engine/run/summary.js';
import { EXIT_OK, type Command } from '../io.js';
import { executionFromArgs } from '../execution-arg.js';
import { parseOptions } from '../main.js';

const HELP = `Usage: parallel-executor status [ID] [--json]

Show an execution from its state file (default: the latest execution of this repository).

  --json   the execution as JSON: {executionId, status, running, stateFile, integration, report,
           reportCommit, tasks: [...]}
`;

export const statusCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const { repoRoot, state } = await executionFromArgs('status', positionals, io.cwd);
  const stateFile = executionPaths(repoRoot, state.execution_id).stateFile;
  const running = isExecutionRunning(state);
  if (values.json) {
    const document = { ...executionSummary(state), running, stateFile };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return EXIT_OK;
  }
  const out = io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  io.stdout.write(
    renderDashboard(state, {
      now: new Date(),
      width: out.columns ?? 100,
      color: terminalKind(io.env, out.isTTY).color,
    }),
  );
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
  return EXIT_OK;
};
