import path from 'node:path';
import { NotInRepositoryError, UsageError } from '../../engine/errors.js';
import { findRepoRoot } from '../../engine/workspace/repo.js';
import { missingPlan, planPath } from '../plan-input.js';
import { checkConfig, type ConfigProblems } from '../run-settings.js';
import { loadPlan, type LoadedPlan } from '../../engine/plan/index.js';
import type { Diagnostic } from '../../engine/plan/schema.js';
import { computeWaves } from '../../engine/schedule/graph.js';
import { EXIT_FAILED, EXIT_OK, type Command } from '../io.js';
import { parseOptions } from '../main.js';

const HELP = `Usage: parallel-executor validate [--plan FILE] [--config FILE] [--json]

Parse a MULTI_AGENT_PLAN.md and check it: agents, dependencies, cycles, duplicate ids, empty
groups, success criteria, file claims, and agent definitions in .claude/agents/ when present;
and the settings file, when there is one, by the rules \`run\` reads it with.

Options:
  --plan FILE   the plan to read (default: the config's plan, MULTI_AGENT_PLAN.md, from the
                repository's root: the plan \`run\` would read)
  --config FILE settings file (default: .github/parallel-executor.yml or .yaml)
  --json        print one JSON document: {valid, plan: {title, groups, tasks}, waves, diagnostics}
  -h, --help    show this help

Exit status: 0 no errors, 1 the plan or the settings file has errors, 2 usage error (unknown
flag, missing file).
`;

export const validateCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    plan: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}"`,
      'Pass the plan with --plan FILE.',
    );
  }
  // The plan `run` would read. Outside a repository, the folder stands in for its root.
  const root = await findRepoRoot(io.cwd).catch((error: unknown) => {
    if (error instanceof NotInRepositoryError) return io.cwd;
    throw error;
  });
  // The config `run` would read, by the same rules; its mistakes are findings like the plan's.
  const { config, problems } = await checkConfig(root, values.config ?? null, io.cwd);
  const wanted = planPath(values.plan, config, io.cwd, root);
  const missing = await missingPlan(wanted, values.plan, root, io.cwd);
  if (missing !== null) throw missing;
  const file = path.relative(io.cwd, wanted);
  const loaded = await loadPlan(file, { cwd: io.cwd });
  const waves = computeWaves(loaded.plan.tasks);
  const diagnostics = [...configDiagnostics(problems), ...loaded.diagnostics].map((diagnostic) => ({
    ...diagnostic,
    file: displayPath(diagnostic.file ?? null, file, io.cwd),
  }));
  const valid = loaded.valid && problems === null;
  if (values.json) {
    const { title, groups, tasks } = loaded.plan;
    const document = { valid, plan: { title, groups, tasks }, waves, diagnostics };
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    io.stdout.write(humanReport(io.cwd, file, loaded, valid, waves, diagnostics));
  }
  return valid ? EXIT_OK : EXIT_FAILED;
};

function configDiagnostics(problems: ConfigProblems | null): Diagnostic[] {
  if (problems === null) return [];
  return problems.error.problems.map((problem) => ({
    severity: 'error' as const,
    code: 'invalid-config',
    message: problem.message,
    line: problem.line ?? 1,
    column: 1,
    hint: problems.error.hint || null,
    file: problems.file,
  }));
}

function displayPath(diagnosticFile: string | null, planFile: string, cwd: string): string {
  if (diagnosticFile === null) return planFile;
  const relative = path.relative(cwd, diagnosticFile);
  return relative.startsWith('..') ? diagnosticFile : relative;
}

function humanReport(
  cwd: string,
  file: string,
  loaded: LoadedPlan,
  valid: boolean,
  waves: string[][],
  diagnostics: Array<Diagnostic & { file: string }>,
): string {
  const { plan } = loaded;
  const agents = [...new Set(plan.tasks.flatMap((task) => task.agents))];
  const done = plan.tasks.filter(
    (task) => task.status === 'completed' || task.status === 'skipped',
  );
  const lines = [
    `${file}${plan.title ? ` — ${plan.title}` : ''}`,
    `  groups  ${plan.groups.length}${list(plan.groups.map((group) => (group.title === group.id ? group.id : `${group.id} ${group.title}`)))}`,
    `  tasks   ${plan.tasks.length}${done.length > 0 ? ` (${done.length} done, ${plan.tasks.length - done.length} to run)` : ''}`,
    `  agents  ${agents.length}${list(agents)}`,
    `  waves   ${waves.length}${waves.length > 0 ? `: ${waves.map((wave) => `[${short(wave)}]`).join(' → ')}` : ''}`,
    `  agent definitions  ${loaded.agentsDir ? `${loaded.agentDefinitions?.length ?? 0} in ${displayPath(loaded.agentsDir, file, cwd)}` : 'none found (.claude/agents/): not checked'}`,
    '',
  ];
  const hinted = new Set<string>();
  for (const diagnostic of diagnostics) {
    lines.push(
      `${diagnostic.file}:${diagnostic.line}:${diagnostic.column} ${diagnostic.severity} ${diagnostic.code} ${diagnostic.message}`,
    );
    // A hint is said once per kind of finding; thirteen identical hints hide the findings.
    if (diagnostic.hint && !hinted.has(diagnostic.hint)) lines.push(`  hint: ${diagnostic.hint}`);
    if (diagnostic.hint) hinted.add(diagnostic.hint);
  }
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  if (diagnostics.length > 0) lines.push('');
  lines.push(
    `${valid ? '✔ valid' : '✖ invalid'}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
  );
  return `${lines.join('\n')}\n`;
}

function list(items: string[]): string {
  return items.length === 0 ? '' : `: ${short(items, 8, ', ')}`;
}

function short(items: string[], max = 10, separator = ' '): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown}${separator}… (+${items.length - max})` : shown;
}
