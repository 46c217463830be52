import type { AgentSettings } from '../../engine/agents/create-runner.js';
import { executionPaths } from '../../engine/run/paths.js';
import { readRunRecord } from '../../engine/run/record.js';
import { resumeExecution } from '../../engine/run/resume.js';
import { resolveSettings } from '../../engine/run/settings.js';
import { readConfig } from '../run-settings.js';
import { EXIT_OK, type Command } from '../io.js';
import { parseOptions } from '../main.js';
import { humanStream, runnerFor, runSession } from '../engine-session.js';
import { executionFromArgs } from '../execution-arg.js';
import {
  FINISH_FLAG_OPTIONS,
  finishChoices,
  finishSettings,
  type FinishChoices,
} from '../finish-settings.js';
import {
  agentEnvironment,
  agentSettings,
  ENGINE_FLAG_OPTIONS,
  settingsFromFlags,
} from '../run-settings.js';

const HELP = `Usage: parallel-executor resume [ID] [--retry-failed] [--agent KIND] [--agent-command CMD]
         [--concurrency N] [--task-timeout DUR] [--idle-timeout DUR] [--retries N]
         [--budget-usd N] [--budget-tokens N] [--budget-duration DUR]
         [--merge-strategy S] [--[no-]detect-conflicts] [--write-back MODE] [--no-write-back] [--config FILE]
         [--repair-attempts N] [--json]

Continue an execution whose orchestrator stopped (Ctrl-C, a crash, even kill -9): agents it left
running are killed, unfinished tasks start again from a fresh worktree, completed tasks and their
branches are kept. Then it finishes as run does: validation, a new integration branch, the report,
the plan's statuses, clean-up. Settings and agent are those the execution started with; flags
override them.

  ID              the execution (default: the latest)
  --retry-failed  also run again failed tasks and the tasks skipped because of them
  --budget-usd N, --budget-tokens N, --budget-duration DUR
                  a budget for this resume (default: the run's own, counted afresh); tasks the
                  budget stopped or did not start are run by resume
  --config FILE   settings file (default: .github/parallel-executor.yml or .yaml)
  --json          print one JSON document at the end (the dashboard goes to stderr)
`;

export const resumeCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    ...ENGINE_FLAG_OPTIONS,
    ...FINISH_FLAG_OPTIONS,
    'retry-failed': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const json = values.json ?? false;
  const { repoRoot, state } = await executionFromArgs('resume', positionals, io.cwd);
  // Resume finds nothing to do and shows the summary: said first, or "SUCCESS in 38s" reads as
  // what this resume did.
  if (state.status === 'completed') {
    humanStream(io, json).write(
      `Execution ${state.execution_id} had finished, every task integrated: nothing to resume. Its summary:\n`,
    );
  }
  const record = await readRunRecord(executionPaths(repoRoot, state.execution_id));
  const settings = resolveSettings({
    ...record?.settings,
    ...settingsFromFlags(values, record?.settings.budget ?? null),
  });
  const previous = (record?.shell['agent'] ?? null) as Partial<AgentSettings> | null;
  const config = await readConfig(repoRoot, values.config ?? null, io.cwd);
  const agent = agentSettings(config, values, settings.graceMs, previous);
  const choices = finishChoices(
    config,
    values,
    (record?.shell['finish'] ?? null) as Partial<FinishChoices> | null,
  );
  const env = agentEnvironment(io.env);
  const runner = runnerFor(agent, env, repoRoot);
  return runSession(
    io,
    json,
    finishSettings(config, choices, settings, agent.kind),
    env,
    runner,
    (session) =>
      resumeExecution({
        cwd: io.cwd,
        executionId: state.execution_id,
        retryFailed: values['retry-failed'] ?? false,
        runner,
        env,
        settings,
        signal: io.signal,
        ...session,
      }),
  );
};
