import { readFile } from 'node:fs/promises';
import type { Plan } from '../plan/schema.js';
import type { ExecutionState } from '../state/schema.js';
import { git, RAW_DIFF } from '../workspace/git-exec.js';
import type { RepairTarget } from './targets.js';
import type { RepairWorkspace } from './workspace.js';

const MAX_DIFF = 6000;
const MAX_OUTPUT = 4000;
/** Other tasks shown with their diffs; the rest are listed by title. */
const MAX_OTHERS = 5;

/** One task as the repair agent is told about it: its intent and what it changed. */
interface TaskIntent {
  id: string;
  title: string;
  criteria: string[];
  branch: string;
  diff: string;
  /** Files it changed. */
  files: string[];
}

const WHAT_FAILED: Record<RepairTarget['kind'], string> = {
  conflict:
    "The task's branch conflicts with the integration branch (with the work of the other task(s) below). " +
    'The merge is left in progress in this worktree, with conflict markers in the files.',
  tests:
    "The task's branch merges cleanly, but the integration tests fail once it is merged, and pass without it " +
    '(batch-and-bisect blamed it). The merge is done in this worktree; the failing test output is below.',
  validation:
    "The task's own validation failed. Its branch (everything its agent left) is merged on the integration " +
    'branch in this worktree; the failed checks’ output is below.',
  interaction:
    'The task and the other task(s) below merged cleanly and are both on the integration branch, but ' +
    'one changes code the other relies on (an interaction risk): each passed its own tests, and together ' +
    'they may be wrong. Nothing has failed yet; no test checks them together.',
};

/**
 * REPAIR_CONTEXT.md: the repair agent's prompt. What failed, the task and the other tasks
 * involved with their intent (titles, criteria, diffs), the failing output, and what must stay
 * true. Written outside the worktree, so it can never be committed.
 */
export async function repairContext(input: {
  target: RepairTarget;
  state: ExecutionState;
  plan: Plan | null;
  ws: RepairWorkspace;
  attempt: number;
  attempts: number;
}): Promise<string> {
  const { target, state, ws } = input;
  const task = await intentOf(input, target.taskId, target.files);
  // Those that changed the same files first: they are the likeliest to be involved.
  const all = await Promise.all(target.others.map((id) => intentOf(input, id, target.files)));
  const touches = (other: TaskIntent) => other.files.some((file) => task.files.includes(file));
  const sorted = [...all.filter(touches), ...all.filter((other) => !touches(other))];
  const others = sorted.slice(0, MAX_OTHERS);
  const listed = sorted.slice(MAX_OTHERS);
  const lines = [
    `# Repair of task ${target.taskId}: ${task.title}`,
    '',
    `Attempt ${input.attempt} of ${input.attempts}. Kind: ${target.kind} (PE_REPAIR=${target.kind}).`,
    '',
    '## What failed',
    '',
    WHAT_FAILED[target.kind],
    '',
    `Reason given: ${target.reason}`,
    '',
    '## Where you are',
    '',
    `- This worktree is on branch \`${ws.branch}\`, which starts at the integration branch \`${state.integration?.branch ?? ''}\` (${ws.base.slice(0, 12)}).`,
    `- The task's branch \`${task.branch}\` (${ws.taskTip.slice(0, 12)}) is ${target.kind === 'interaction' ? 'already in it, as is every other task below' : 'merged into it'}${ws.conflicted.length > 0 ? `; the merge is NOT finished: conflict markers are in ${ws.conflicted.map((f) => `\`${f}\``).join(', ')}` : ''}.`,
    '',
    ...interactionLines(target),
    '## The task',
    '',
    ...intentLines(task),
  ];
  if (others.length > 0) {
    lines.push('## The other task(s) involved', '');
    for (const other of others) lines.push(...intentLines(other));
    if (listed.length > 0) {
      lines.push(
        'Also merged on the integration branch:',
        ...listed.map((o) => `- ${o.id}: ${o.title}`),
        '',
      );
    }
  }
  for (const file of target.outputs) {
    const text = await readFile(file, 'utf8').catch(() => '(the output file could not be read)');
    lines.push(`## Failing output (${file})`, '', '```', tail(text, MAX_OUTPUT), '```', '');
  }
  lines.push(
    '## What must stay true',
    '',
    '- Every acceptance criterion of this task, and of every other task above, still holds.',
    '- Conflict markers are never committed. Resolve every conflicted file, `git add` it, and finish the merge with `git commit`.',
    "- Commit your changes on this branch. Do not reset, rebase or amend: the integration branch's commits and the task's commits must stay in its history.",
    '- The tests pass (run them before you finish).',
    ...(target.kind === 'interaction'
      ? [
          '- Your test of the combination is committed, in a test file the project’s test command runs.',
        ]
      : []),
    '',
  );
  return `${lines.join('\n')}\n`;
}

async function intentOf(
  input: { state: ExecutionState; plan: Plan | null; ws: RepairWorkspace },
  id: string,
  files: readonly string[],
): Promise<TaskIntent> {
  const run = input.state.tasks[id];
  const planned = input.plan?.tasks.find((task) => task.id === id);
  const branch = run?.branch ?? '';
  let diff = '';
  let changed: string[] = [];
  if (run?.start_sha) {
    const range = [run.start_sha, run.head_sha ?? `refs/heads/${branch}`];
    const paths = files.length > 0 ? ['--', ...files] : [];
    const result = await git(
      input.ws.worktree,
      ['diff', '--no-color', ...RAW_DIFF, ...range, ...paths],
      {
        allowExitCodes: [128],
      },
    );
    diff = result.stdout;
    const names = await git(input.ws.worktree, ['diff', '--name-only', ...range], {
      allowExitCodes: [128],
    });
    changed = names.stdout.split('\n').filter(Boolean);
  }
  return {
    id,
    title: planned?.title ?? run?.task ?? id,
    criteria: planned?.criteria ?? [],
    branch,
    diff,
    files: changed,
  };
}

/** For an interaction: where the tasks meet, and the job (a test of the combination, a fix). */
function interactionLines(target: RepairTarget): string[] {
  if (target.kind !== 'interaction') return [];
  const code = (items: readonly string[]) => items.map((item) => `\`${item}\``).join(', ');
  return [
    '## Where the tasks meet',
    '',
    `- Files: ${code(target.files) || '(none named)'}`,
    `- Definitions: ${code(target.symbols ?? []) || '(none named)'}`,
    '',
    '## What to do',
    '',
    '1. Write a test of the combination: one that exercises the task’s code together with what the',
    '   other task(s) changed, and checks that both tasks’ acceptance criteria hold together. Put it',
    '   where the project keeps its tests (a `test/` folder, `*.test.*`, `test_*.py`, …).',
    '2. Run it. If it fails, fix the code so that it passes, keeping both tasks’ intent.',
    '3. Commit the test and any fix on this branch.',
    '',
  ];
}

function intentLines(task: TaskIntent): string[] {
  return [
    `### Task ${task.id}: ${task.title} (branch \`${task.branch}\`)`,
    '',
    ...(task.criteria.length > 0
      ? ['Acceptance criteria:', ...task.criteria.map((c) => `- ${c}`)]
      : ['No acceptance criteria in the plan.']),
    '',
    'What it changed:',
    '```diff',
    task.diff.length > MAX_DIFF ? `${task.diff.slice(0, MAX_DIFF)}\n… (cut)` : task.diff.trimEnd(),
    '```',
    '',
  ];
}

function tail(text: string, max: number): string {
  return text.length > max ? `…${text.slice(-max)}` : text.trimEnd();
}
