/**
 * The repository, plan and scripted agent the end-to-end action tests (and the requests benchmark)
 * run: a plan whose first group has tasks that succeed, conflict, fail validation and fail outright,
 * one of them with a title made to break out of a shell; a command-adapter agent that does what a
 * scenario file says for each task.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** A title that runs commands if it ever reaches a shell: `$(…)`, backticks, an Actions expression. */
export function hostileTitle(canary: string): string {
  return `Add feature A $(touch ${canary}) \`touch ${canary}-2\` \${{ secrets.X }} $(rm -rf ~)`;
}

export interface ScenarioTask {
  /** Files the agent writes (relative to its worktree). */
  files?: Record<string, string>;
  /** Write PE_TASK_TITLE to `seen-title.txt` and the names of its environment to `env-keys.txt`. */
  report?: boolean;
  /** Lines the agent prints (e.g. a forged workflow command). */
  print?: string[];
  /** Stay silent this long before exiting (to meet the idle limit). */
  sleepMs?: number;
  exit?: number;
}

export type Scenario = Record<string, ScenarioTask>;

/** The agent: `node <this script>`; it finds its scenario through AGENT_SCENARIO. */
export const AGENT_SCRIPT = `
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
const all = JSON.parse(readFileSync(process.env.AGENT_SCENARIO, 'utf8'));
const task = all[process.env.PE_TASK_ID] ?? {};
for (const [path, content] of Object.entries(task.files ?? {})) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
if (task.report) {
  writeFileSync('seen-title.txt', process.env.PE_TASK_TITLE);
  writeFileSync('env-keys.txt', Object.keys(process.env).sort().join('\\n') + '\\n');
}
for (const line of task.print ?? []) console.log(line);
if (task.sleepMs) await new Promise((resolve) => setTimeout(resolve, task.sleepMs));
console.log('agent done with ' + process.env.PE_TASK_ID);
process.exit(task.exit ?? 0);
`;

/** A test suite: fails when `broken.txt` says so. Validation and the integration tests run it. */
const CHECK_SCRIPT = `
const fs = require('node:fs');
if (fs.existsSync('broken.txt') && fs.readFileSync('broken.txt', 'utf8').includes('broken')) {
  console.log('Tests: 1 failed, 3 passed, 4 total');
  process.exit(1);
}
console.log('Tests: 4 passed, 4 total');
`;

export const CONFIG = `validation:
  tests: node check.cjs
  lint: false
  coverage: false
  security: false
  build: false
integration:
  testCommand: node check.cjs
`;

/** `independent`: a third group that waits for nothing, which a run of group 1 must leave alone. */
export function planText(
  title11: string,
  wave1 = ['1.2', '1.3', '1.4'],
  options: { independent?: boolean } = {},
): string {
  const titles: Record<string, string> = {
    '1.2': 'Rewrite the shared file',
    '1.3': 'Break the tests',
    '1.4': 'Give up halfway',
  };
  const agents: Record<string, string> = {
    '1.2': 'Builder-2',
    '1.3': 'Builder-3',
    '1.4': 'Builder-4',
  };
  return [
    '# Widgets plan',
    '',
    '### Parallel Group 1: Features',
    '**Duration**: 1 day',
    '**Dependencies**: None',
    '',
    `- [ ] 1.1: ${title11.replace(/`/g, '\\`')} (Builder-1, 1h)`,
    ...wave1.map((id) => `- [ ] ${id}: ${titles[id]} (${agents[id]}, 1h)`),
    '',
    '### Parallel Group 2: Follow-up',
    '**Dependencies**: Group 1 complete',
    '',
    '- [ ] 2.1: Build on feature A (Builder-1, 1h)',
    '',
    ...(options.independent
      ? [
          '### Parallel Group 3: Docs',
          '**Dependencies**: None',
          '',
          '- [ ] 3.1: Write the docs (Builder-5, 1h)',
          '',
        ]
      : []),
  ].join('\n');
}

/** The repository's files: plan, config, the check script, the caller workflow, a shared file. */
export async function repositoryFiles(plan: string): Promise<Record<string, string>> {
  return {
    'MULTI_AGENT_PLAN.md': plan,
    '.github/parallel-executor.yml': CONFIG,
    '.github/workflows/parallel-run.yml': await readFile(
      join(ROOT, 'docs', 'examples', 'parallel-run-caller.yml'),
      'utf8',
    ),
    'check.cjs': CHECK_SCRIPT,
    'shared.txt': 'base\n',
  };
}

/** The full scenario: 1.1 lands, 1.2 conflicts with it, 1.3 fails validation, 1.4's agent fails. */
export const SCENARIO: Scenario = {
  '1.1': {
    files: { 'feature-a.txt': 'A\n', 'shared.txt': 'from A\n' },
    report: true,
    print: ['::error::forged by the agent', '::add-mask::nothing'],
  },
  '1.2': { files: { 'shared.txt': 'from B\n' } },
  '1.3': { files: { 'broken.txt': 'broken\n' } },
  '1.4': { files: { 'partial.txt': 'half done\n' }, exit: 3 },
  '2.1': { files: { 'feature-b.txt': 'B on A\n' } },
};

/** Writes the agent script and the scenario; returns the agent command and its environment. */
export async function writeAgent(
  dir: string,
  scenario: Scenario,
): Promise<{ command: string; env: Record<string, string> }> {
  const script = join(dir, 'agent.mjs');
  const file = join(dir, 'scenario.json');
  await writeFile(script, AGENT_SCRIPT);
  await writeFile(file, JSON.stringify(scenario));
  return { command: `node ${script}`, env: { AGENT_SCENARIO: file } };
}
