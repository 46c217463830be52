import { UsageError } from '../../engine/errors.js';
import { previewExecution, runExecution } from '../../engine/run/orchestrator.js';
import { resolveSettings } from '../../engine/run/settings.js';
import { readConfig } from '../run-settings.js';
import { findRepoRoot } from '../../engine/workspace/repo.js';
import { EXIT_OK, type Command } from '../io.js';
import { parseOptions } from '../main.js';
import { humanStream, runnerFor, runSession } from '../engine-session.js';
import { FINISH_FLAG_OPTIONS, finishChoices, finishSettings } from '../finish-settings.js';
import { loadPlanForRun, missingPlan, planPath } from '../plan-input.js';
import { finishPreview, formatPreflight, formatPreview } from '../run-output.js';
import {
  agentEnvironment,
  agentSettings,
  ENGINE_FLAG_OPTIONS,
  settingsFromFlags,
} from '../run-settings.js';
import { settingsFromConfig } from '../../engine/run/config-settings.js';
import { AGENT_KINDS } from '../../engine/agents/kinds.js';

const HELP = `Usage: parallel-executor run [--plan FILE] [--group ID|all] [--tasks ID,…] [--agent KIND]
         [--agent-command CMD] [--concurrency N] [--task-timeout DUR] [--idle-timeout DUR]
         [--retries N] [--budget-usd N] [--budget-tokens N] [--budget-duration DUR]
         [--merge-strategy batch-bisect|serial] [--[no-]detect-conflicts]
         [--write-back integration-branch|working-tree] [--no-write-back] [--repair-attempts N]
         [--dry-run] [--json]

Run the plan's tasks concurrently, each by a real agent in its own git worktree and branch,
as soon as its dependencies are done; validate each task's work in its worktree (lint, tests,
coverage, audit, build: from the config, else found in package.json, a Makefile, or a Rust, Go or
Python project; --dry-run lists them); merge the validated branches
into a new integration branch (integration/group-<id> or integration/<execution-id>) and test
it; write the report and commit it there with the plan's updated statuses; clean up after a fully
integrated run. Your checkout is never touched. Settings also come from
.github/parallel-executor.yml; flags win. Durations: 90s, 10m, 1h.

  --plan FILE          the plan (default: the config's plan, MULTI_AGENT_PLAN.md, from the
                       repository's root wherever you run from)
  --config FILE        settings file (default: .github/parallel-executor.yml or .yaml)
  --group ID|all       the pending tasks of one group (any case: g1 = G1) or of the plan (default);
                       failed, skipped, in-progress, blocked and review tasks wait to be named
  --tasks ID,…         exactly these tasks, whatever their status but completed (a retry), with
                       the tasks skipped because of them; wins over --group
  --agent KIND         claude-code (default), codex or command
  --agent-command CMD  your own agent command, run with sh -c in each worktree (PE_* variables)
  --concurrency N      at most N agents at once (default: every ready task)
  --task-timeout DUR   wall-clock limit per task (default 60m)
  --idle-timeout DUR   no output and no status change for this long = hung (default 10m)
  --retries N          run a failed, crashed or stopped agent again up to N times (default 0)
  --budget-usd N       a budget for the whole run, in dollars: once reached, no new task starts
  --budget-tokens N    … in tokens (every kind, cache reads included)
  --budget-duration DUR  … in wall time since the run started. Running agents finish unless the
                       config's budget.margin (e.g. 10%) is set: past it they are stopped, their
                       work kept. Tasks not started are resumable (resume gets a fresh budget)
  --merge-strategy S   batch-bisect (default: merge all, test once, bisect on failure) or
                       serial (test after every merge)
  --no-detect-conflicts  skip the git merge-tree check of every pair of branches before merging
  --write-back MODE    where the plan's statuses go: integration-branch (default: committed with
                       the report on the integration branch) or working-tree (your plan file)
  --no-write-back      leave the plan alone (the report is still written)
  --repair-attempts N  hand a task left out (conflict, blamed by the integration tests, failed
                       validation) back to its agent up to N times, in a worktree of the
                       integration branch with its branch merged (PE_REPAIR, PE_REPAIR_OF set);
                       0 turns it off (default: 1 for claude-code, 0 for command)
  --dry-run            check and show what would be created and run; create nothing
  --json               print one JSON document at the end (the dashboard goes to stderr)

An agent runs in its worktree with these variables set (plus your environment, filtered):
  PE_EXECUTION_ID  PE_TASK_ID  PE_TASK_TITLE  PE_AGENT  PE_BRANCH  PE_WORKTREE
  PE_CONTEXT_FILE (its prompt, AGENT_CONTEXT.md)  PE_STATUS_FILE (JSON progress it may write)
  PE_LOG_FILE  PE_PORT (first of the ports reserved for it)  PE_INBOX (messages to it)

Exit status: 0 every task was integrated, 1 a task failed, conflicted or was dropped, 2 usage
error (also outside a git repository), 130 stopped by Ctrl-C (the state is saved: resume it).
`;

export const runCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    ...ENGINE_FLAG_OPTIONS,
    ...FINISH_FLAG_OPTIONS,
    plan: { type: 'string' },
    group: { type: 'string' },
    tasks: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `run takes no arguments, got "${positionals[0]}"`,
      'Pass the plan with --plan FILE.',
    );
  }
  const json = values.json ?? false;
  const repoRoot = await findRepoRoot(io.cwd);
  const config = await readConfig(repoRoot, values.config ?? null, io.cwd);
  const fromConfig = settingsFromConfig(config);
  const settings = resolveSettings({
    ...fromConfig,
    ...settingsFromFlags(values, fromConfig.budget ?? null),
  });
  const agent = agentSettings(config, values, settings.graceMs);
  const choices = finishChoices(config, values);
  const env = agentEnvironment(io.env);
  const runner = runnerFor(agent, env, repoRoot);
  const wanted = planPath(values.plan, config, io.cwd, repoRoot);
  const missing = await missingPlan(wanted, values.plan, repoRoot, io.cwd);
  if (missing !== null) throw missing;
  const { file, plan, warnings } = await loadPlanForRun(wanted, io.cwd);
  const human = humanStream(io, json);
  for (const warning of warnings) human.write(`warning: ${warning}\n`);
  const options = {
    cwd: io.cwd,
    plan,
    planFile: file,
    group: values.group ?? 'all',
    tasks: taskList(values.tasks),
    runner,
    env,
    settings,
    signal: io.signal,
    onPreflight: (report: Parameters<typeof formatPreflight>[0]) =>
      human.write(formatPreflight(report)),
  };
  const finish = finishSettings(config, choices, settings, agent.kind);
  if (values['dry-run']) {
    const preview = await previewExecution(options);
    const agentLine = AGENT_KINDS[agent.kind].describe(agent);
    const after = await finishPreview(preview.repoRoot, finish);
    if (json) io.stdout.write(`${JSON.stringify({ ...preview, ...after }, null, 2)}\n`);
    else io.stdout.write(formatPreview(preview, agentLine, after));
    return preview.preflight.go ? EXIT_OK : 1;
  }
  return runSession(io, json, finish, env, runner, (session) =>
    runExecution({ ...options, shellRecord: { agent, finish: choices }, ...session }),
  );
};

/** `--tasks 1.1,1.2` (or spaces) → the ids; absent or empty → null (the group decides). */
function taskList(text: string | undefined): string[] | null {
  const ids = (text ?? '').split(/[\s,]+/).filter((id) => id !== '');
  return ids.length > 0 ? [...new Set(ids)] : null;
}
