import { terminalKind } from './terminal.js';
import { createAgentRunner, type AgentSettings } from '../engine/agents/create-runner.js';
import { createFinisher, type FinishOutcome } from '../engine/finish/finisher.js';
import type { FinishSettings } from '../engine/finish/settings.js';
import type { ExecutionEvent } from '../engine/monitor/events.js';
import type { AgentRunner } from '../engine/ports/agent-runner.js';
import type { ExecutionState } from '../engine/state/schema.js';
import type { ExecutionHooks } from '../engine/run/hooks.js';
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

function liveViewFor(io: CliIo, json: boolean): LiveView {
  const out = humanStream(io, json);
  const terminal = terminalKind(io.env, out.isTTY);
  return createLiveView(out, {
    tty: terminal.live,
    color: terminal.color,
    // Read at each redraw: the terminal may be resized mid-run.
    size: () => ({ columns: out.columns, rows: out.rows }),
  });
}

export function runnerFor(agent: AgentSettings, env: Record<string, string>, repoRoot: string) {
  return createAgentRunner(agent, { env, cwd: repoRoot });
}

export type ViewListener = (event: ExecutionEvent, state: ExecutionState) => void;

/** What `run` and `resume` hand the engine so that the live view and the finishing steps follow. */
export interface Session {
  hooks: ExecutionHooks;
  onEvent: ViewListener;
}

/**
 * `run` and `resume` alike: the live view, then validation, integration, report and clean-up as
 * the engine's hooks; at the end the summary (or JSON) and the exit code — 0 only when every task
 * landed on the integration branch. The view is closed when the execution throws, too.
 */
export async function runSession(
  io: CliIo,
  json: boolean,
  settings: FinishSettings,
  env: Record<string, string>,
  runner: AgentRunner,
  execute: (session: Session) => Promise<ExecutionResult>,
): Promise<number> {
  const view = liveViewFor(io, json);
  const onEvent: ViewListener = (event, state) => view.onEvent(event, state);
  const finisher = createFinisher({ settings, env, runner, signal: io.signal, onEvent });
  try {
    const result = await execute({ hooks: finisher.hooks, onEvent });
    return finish(io, json, view, result, finisher.outcome());
  } catch (error) {
    view.close(null);
    throw error;
  }
}

function finish(
  io: CliIo,
  json: boolean,
  view: LiveView,
  result: ExecutionResult,
  outcome: FinishOutcome | null,
): number {
  view.close(result.state);
  if (json) {
    const document = {
      ...executionSummary(result.state),
      checkoutChanges: result.state.checkout_changes ?? [],
      ...finishDocument(outcome),
    };
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
