import { readFileSync } from 'node:fs';
import type { Code } from 'mdast';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { writeBack, type PlanWriteBack } from '../../src/engine/plan/write-back.js';
import { lineDiff, readSharedPlan, repoRoot, seedSkillFile, taskById } from './helpers.js';

const minutes = (n: number) => n * 60_000;

function apply(text: string, update: PlanWriteBack): string {
  return writeBack(text, parsePlan(text).plan, update);
}

/** Writing back twice must equal writing back once. */
function applyTwice(text: string, update: PlanWriteBack): string {
  const once = apply(text, update);
  expect(apply(once, update)).toBe(once);
  return once;
}

/** The seed's Step 5.3 example, the exact shape a write-back must produce. */
function seedStep53(): string {
  const tree = unified().use(remarkParse).parse(readFileSync(seedSkillFile, 'utf8'));
  const block = tree.children.find(
    (node): node is Code =>
      node.type === 'code' && node.value.startsWith('### Parallel Group 2: Core Auth ✅'),
  );
  return `${block!.value}\n`;
}

const BEFORE_53 = `### Parallel Group 2: Core Auth
**Duration**: 3 days
**Dependencies**: Group 1 complete

- [ ] 2.1: Implement JWT service (Builder-1, 6h)
- [ ] 2.2: Create User model and repository (Builder-1, 4h)
- [ ] 2.3: Build registration endpoint (Builder-1, 5h)
- [ ] 2.4: Write auth flow integration tests (Validator-1, 6h)
`;

const UPDATE_53: PlanWriteBack = {
  tasks: [
    { id: '2.1', outcome: 'completed', actualMs: minutes(92) },
    { id: '2.2', outcome: 'completed', actualMs: minutes(78) },
    { id: '2.3', outcome: 'moved', note: 'Moved to Group 3' },
    { id: '2.4', outcome: 'warnings', actualMs: minutes(101) },
  ],
  groups: [{ id: '2', completed: true, actualMs: minutes(104) }],
  reportPath: 'reports/exec_20251129_143052.md',
};

describe('write-back, seed dialect', () => {
  it("produces the seed's Step 5.3 shape exactly", () => {
    expect(applyTwice(BEFORE_53, UPDATE_53)).toBe(seedStep53());
  });

  it('replaces earlier marks on a later run instead of adding to them', () => {
    const first = apply(BEFORE_53, UPDATE_53);
    const second = apply(first, {
      tasks: [
        { id: '2.3', outcome: 'completed', actualMs: minutes(30) },
        { id: '2.4', outcome: 'failed', note: 'tests' },
      ],
      groups: [{ id: '2', completed: true, actualMs: minutes(140) }],
      reportPath: 'reports/exec_2.md',
    });
    expect(lineDiff(first, second)).toEqual({
      removed: [
        '**Duration**: 3 days → **Actual**: 1h 44min',
        '- [x] 2.3: Build registration endpoint (Builder-1, 5h) ⏭️ Moved to Group 3',
        '- [x] 2.4: Write auth flow integration tests (Validator-1, 6h) ⚠️ 1h 41min (warnings)',
        '**Execution Report**: reports/exec_20251129_143052.md',
      ],
      added: [
        '**Duration**: 3 days → **Actual**: 2h 20min',
        '- [x] 2.3: Build registration endpoint (Builder-1, 5h) ✅ 30min',
        '- [ ] 2.4: Write auth flow integration tests (Validator-1, 6h) ❌ failed (tests)',
        '**Execution Report**: reports/exec_2.md',
      ],
    });
    const { plan } = parsePlan(second);
    expect(taskById(plan.tasks, '2.3').status).toBe('completed');
    expect(taskById(plan.tasks, '2.4').status).toBe('failed');
  });

  it('changes only the updated lines of a full plan; the result parses to the new statuses', () => {
    const before = readFileSync(`${repoRoot}/examples/MULTI_AGENT_PLAN.md`, 'utf8');
    const after = applyTwice(before, {
      tasks: [
        { id: '1.1', outcome: 'completed', actualMs: minutes(61) },
        { id: '1.2', outcome: 'skipped' },
      ],
      groups: [{ id: '1', completed: true, actualMs: minutes(62) }],
      reportPath: 'reports/exec_1.md',
    });
    expect(lineDiff(before, after)).toEqual({
      removed: [
        '## Parallel Group 1: Foundation (Day 1)',
        '**Duration**: 1 day',
        '- [ ] 1.1: Define the bookmark model and the storage contract (Architect-1, 2h)',
        '- [ ] 1.2: Set up the test harness and shared fixtures (Validator-1, 90min)',
      ],
      added: [
        '## Parallel Group 1: Foundation (Day 1) ✅ COMPLETED',
        '**Duration**: 1 day → **Actual**: 1h 2min',
        '- [x] 1.1: Define the bookmark model and the storage contract (Architect-1, 2h) ✅ 1h 1min',
        '- [x] 1.2: Set up the test harness and shared fixtures (Validator-1, 90min) ⏭️ Skipped',
        '**Execution Report**: reports/exec_1.md',
        '',
      ],
    });
    const { plan } = parsePlan(after);
    expect(plan.groups[0]).toMatchObject({ status: 'completed', durationText: '1 day' });
    expect(plan.tasks.map((task) => task.status).slice(0, 3)).toEqual([
      'completed',
      'skipped',
      'pending',
    ]);
  });

  it('keeps CRLF line endings and a byte-order mark', () => {
    const before = `\uFEFF# Plan\r\n\r\n${BEFORE_53.replace(/\n/g, '\r\n')}`;
    const after = applyTwice(before, UPDATE_53);
    expect(after.startsWith('\uFEFF# Plan\r\n')).toBe(true);
    expect(after.replace(/\r\n/g, '')).not.toContain('\n');
    expect(after).toContain('\r\n**Execution Report**: reports/exec_20251129_143052.md\r\n');
  });

  it('marks checklist-board lines too (Baddy)', () => {
    const before = readSharedPlan('csarunkarthik__Baddy__MULTI_AGENT_PLAN.md');
    const after = applyTwice(before, {
      tasks: [{ id: 'T-1', outcome: 'completed', actualMs: minutes(12) }],
    });
    const diff = lineDiff(before, after);
    expect(diff.removed).toHaveLength(1);
    expect(diff.added).toEqual([diff.removed[0]!.replace('- [ ]', '- [x]').concat(' ✅ 12min')]);
  });
});

describe('write-back, table boards', () => {
  it('rewrites status cells only, and links the report after the table', () => {
    const before = readSharedPlan(
      'Ryno-Crypto-Mining-Services__braiins-os-mcp-server__MULTI_AGENT_PLAN.md',
    );
    const after = applyTwice(before, {
      tasks: [
        { id: 'T2', outcome: 'completed', actualMs: minutes(40) },
        { id: 'T3', outcome: 'failed' },
      ],
      reportPath: 'reports/exec_9.md',
    });
    const diff = lineDiff(before, after);
    expect(diff.removed).toEqual([
      '| T2 | Tool: configure_fan_control | mcp-server-dev | ../worktrees/mcp-fan-control | mcp/fan-control | A | Not Started | - |',
      '| T3 | Tool: configure_network | mcp-server-dev | ../worktrees/mcp-network | mcp/network | A | Not Started | - |',
    ]);
    expect(diff.added.filter((line) => line !== '')).toEqual([
      '| T2 | Tool: configure_fan_control | mcp-server-dev | ../worktrees/mcp-fan-control | mcp/fan-control | A | ✅ Completed | - |',
      '| T3 | Tool: configure_network | mcp-server-dev | ../worktrees/mcp-network | mcp/network | A | ❌ Failed    | - |',
      '**Execution Report**: reports/exec_9.md',
    ]);
    const { plan } = parsePlan(after);
    expect(plan.tasks.map((task) => task.status)).toEqual([
      'completed',
      'completed',
      'failed',
      'pending',
      'pending',
    ]);
  });

  it('keeps an aligned table aligned when the new status fits', () => {
    const before = `| ID | Task | Agent     | Status      |
|----|------|-----------|-------------|
| T1 | one  | Builder-1 | In Progress |
| T2 | two  | Builder-2 | Not Started |
`;
    const after = applyTwice(before, {
      tasks: [
        { id: 'T1', outcome: 'failed' },
        { id: 'T2', outcome: 'skipped' },
      ],
    });
    expect(after).toBe(`| ID | Task | Agent     | Status      |
|----|------|-----------|-------------|
| T1 | one  | Builder-1 | ❌ Failed    |
| T2 | two  | Builder-2 | ⏭️ Skipped  |
`);
  });
});

describe('write-back, table boards without a status column', () => {
  it('marks the title cell of the lane, and reads the mark back as the status', () => {
    const before = readSharedPlan('mrpeanut01__elevator-sim__MULTI_AGENT_PLAN.md');
    const after = applyTwice(before, {
      tasks: [
        { id: 'A1', outcome: 'completed', actualMs: minutes(50) },
        { id: 'A2', outcome: 'failed', note: 'tests | lint' },
      ],
    });
    const diff = lineDiff(before, after);
    expect(diff.removed.map((line) => line.split('|')[1]!.trim())).toEqual([
      'A1 `feat/one-weight-vector`',
      'A2 `feat/run-record-everyday`',
    ]);
    expect(diff.added).toEqual([
      diff.removed[0]!.replace(' in `core` |', ' in `core` ✅ 50min |'),
      diff.removed[1]!.replace(' speed reset |', ' speed reset ❌ failed (tests \\| lint) |'),
    ]);
    const { plan } = parsePlan(after);
    expect(taskById(plan.tasks, 'A1')).toMatchObject({
      status: 'completed',
      title: expect.stringMatching(/in `?core`?$/),
    });
    expect(taskById(plan.tasks, 'A2').status).toBe('failed');
  });

  it('links the report once under a group heading whose tasks are a table, run after run', () => {
    // The group's heading and its table each led to the place after the table: two links.
    const before = readSharedPlan('mrpeanut01__elevator-sim__MULTI_AGENT_PLAN.md');
    const { plan } = parsePlan(before);
    const group = plan.tasks.find((task) => task.id === 'A0')!.group!;
    const update = (reportPath: string): PlanWriteBack => ({
      tasks: plan.tasks
        .filter((task) => task.group === group)
        .map((task) => ({ id: task.id, outcome: 'completed', actualMs: minutes(5) })),
      groups: [{ id: group, completed: true, actualMs: minutes(20) }],
      reportPath,
    });
    const once = writeBack(before, plan, update('reports/one.md'));
    expect(once.match(/\*\*Execution Report\*\*/g)).toHaveLength(1);
    const twice = writeBack(once, plan, update('reports/two.md'));
    expect(twice.match(/\*\*Execution Report\*\*/g)).toHaveLength(1);
    expect(twice).toContain('| all of A0–A7 |\n\n**Execution Report**: reports/two.md\n\n### WS-B');
  });
});

describe('write-back, task blocks', () => {
  it('rewrites an existing status field and adds the report below it', () => {
    const before = readSharedPlan(
      'gabrielteoodoro__workflow-configs---Bable-PET__MULTI_AGENT_PLAN.md',
    );
    const after = applyTwice(before, {
      tasks: [{ id: 'T-1', outcome: 'completed', actualMs: minutes(92) }],
      reportPath: 'reports/exec_3.md',
    });
    expect(lineDiff(before, after)).toEqual({
      removed: ['- **Status**: Pronto para Iniciar'],
      added: ['- **Status**: ✅ Completed (1h 32min)', '- **Execution Report**: reports/exec_3.md'],
    });
    expect(taskById(parsePlan(after).plan.tasks, 'T-1').status).toBe('completed');
  });

  it('adds a status field in the block’s own style when it has none', () => {
    const before = readSharedPlan('enuno__claude-command-and-control__MULTI_AGENT_PLAN.md');
    const after = applyTwice(before, {
      tasks: [{ id: 'Workstream 2', outcome: 'warnings', actualMs: minutes(75) }],
    });
    expect(lineDiff(before, after)).toEqual({
      removed: [],
      added: ['**Status:** ⚠️ Completed with warnings (1h 15min)'],
    });
    const lines = after.split('\n');
    expect(lines[lines.indexOf('**Agent:** Builder-2') + 1]).toBe(
      '**Status:** ⚠️ Completed with warnings (1h 15min)',
    );
    expect(taskById(parsePlan(after).plan.tasks, 'Workstream 2').status).toBe('completed');
  });
});

describe('write-back errors', () => {
  it('refuses an id the plan does not have', () => {
    expect(() => apply(BEFORE_53, { tasks: [{ id: '9.9', outcome: 'completed' }] })).toThrow(
      UsageError,
    );
    expect(() => apply(BEFORE_53, { tasks: [], groups: [{ id: '7', completed: true }] })).toThrow(
      /group "7" is not in the plan/,
    );
  });
});

describe('control characters in the plan', () => {
  // A colleague's plan with terminal escape codes in a title, an agent name and a dependency:
  // validate and run printed them as they were (ESC ]0; retitled the terminal, ESC [2J cleared
  // it, ESC [1A wrote over the line above), and the report and prompts carried them.
  const ESC = '\u001b';
  const text = [
    `# Release${ESC}]0;pwned\u0007`,
    '',
    '| ID | Task | Agent | Dependencies | Status |',
    '|---|---|---|---|---|',
    `| T1 | Build ${ESC}[31mit${ESC}[0m | Builder-1${ESC}[2J | None | Not Started |`,
    `| T2 | Test it | Builder-1 | T1${ESC}[1A | Not Started |`,
    '',
  ].join('\n');

  it('reads them as U+FFFD, with a warning at each line that has one', () => {
    const { plan, diagnostics } = parsePlan(text);
    const everything = JSON.stringify(plan);
    expect(everything).not.toMatch(/\\u001b|\\u0007/);
    expect(plan.title).toBe('Release\uFFFD]0;pwned\uFFFD');
    expect(taskById(plan.tasks, 'T1')).toMatchObject({
      title: 'Build \uFFFD[31mit\uFFFD[0m',
      agents: ['Builder-1\uFFFD[2J'],
    });
    const found = diagnostics.filter((d) => d.code === 'control-character');
    expect(found.map((d) => [d.severity, d.line, d.column])).toEqual([
      ['warning', 1, 10],
      ['warning', 5, 14],
      ['warning', 6, 32],
    ]);
    expect(found[0]!.message).toContain('U+001B');
    expect(diagnostics.map((d) => d.message).join('\n')).not.toContain(ESC);
  });

  it('write-back leaves every other byte as written, escape codes included', () => {
    const out = apply(text, { tasks: [{ id: 'T1', outcome: 'completed' }] });
    const diff = lineDiff(text, out);
    expect(diff.removed).toEqual([text.split('\n')[4]]);
    expect(diff.added).toEqual([
      `| T1 | Build ${ESC}[31mit${ESC}[0m | Builder-1${ESC}[2J | None | ✅ Completed |`,
    ]);
  });
});

describe('control characters on many lines', () => {
  it('are named on the first three lines, then once for the rest', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}\u0001`);
    const found = parsePlan(lines.join('\n')).diagnostics.filter(
      (d) => d.code === 'control-character',
    );
    expect(found.map((d) => d.line)).toEqual([1, 2, 3, 4]);
    expect(found[3]!.message).toContain('on 47 more line(s), from this one to line 50');
  });
});

describe('status marks inside a title cell', () => {
  // A board with no status column: "Show a ✅ next to passing builds" was read as the title
  // "Show a", completed (the run skipped it as done), and "Replace the ❌ icon" as failed; a
  // write-back then replaced "✅ next to passing builds" with its own mark.
  const text = [
    '| ID | Task | Agent |',
    '|---|---|---|',
    '| T1 | Show a ✅ next to passing builds | Builder-1 |',
    '| T2 | Replace the ❌ icon | Builder-1 |',
    '| T3 | Scope ✅ 1h 2min | Builder-1 |',
    '| T4 | Ship ❌ failed (tests: 2 failed) | Builder-1 |',
    '',
  ].join('\n');

  it('are marks only at the end, followed by nothing but a time and a note', () => {
    const { plan } = parsePlan(text);
    expect(plan.tasks.map((task) => [task.id, task.title, task.status])).toEqual([
      ['T1', 'Show a ✅ next to passing builds', 'pending'],
      ['T2', 'Replace the ❌ icon', 'pending'],
      ['T3', 'Scope', 'completed'],
      ['T4', 'Ship', 'failed'],
    ]);
  });

  it('write-back adds its mark after such a title, and replaces it the next time', () => {
    const update: PlanWriteBack = {
      tasks: [
        { id: 'T1', outcome: 'completed', actualMs: minutes(3) },
        { id: 'T2', outcome: 'failed', note: 'exit 1' },
      ],
    };
    const out = applyTwice(text, update);
    expect(out.split('\n').slice(2, 4)).toEqual([
      '| T1 | Show a ✅ next to passing builds ✅ 3min | Builder-1 |',
      '| T2 | Replace the ❌ icon ❌ failed (exit 1) | Builder-1 |',
    ]);
    expect(
      parsePlan(out)
        .plan.tasks.slice(0, 2)
        .map((task) => task.title),
    ).toEqual(['Show a ✅ next to passing builds', 'Replace the ❌ icon']);
  });
});

describe('status marks inside a task line with no agent parenthesis', () => {
  // "Task 1.1: Show a ✅ next to passing builds" was the title "Show a", completed: not run.
  const text = [
    '## Parallel Group 1: G',
    '',
    '- [ ] Task 1.1: Show a ✅ next to passing builds',
    '- [ ] Task 1.2: Done already ✅ 3min',
    '',
  ].join('\n');

  it('reads a mark only at the end of the line, and write-back adds after the title', () => {
    const { plan } = parsePlan(text);
    expect(plan.tasks.map((task) => [task.id, task.title, task.status])).toEqual([
      ['1.1', 'Show a ✅ next to passing builds', 'pending'],
      ['1.2', 'Done already', 'completed'],
    ]);
    const out = applyTwice(text, { tasks: [{ id: '1.1', outcome: 'failed', note: 'exit 1' }] });
    expect(out.split('\n')[2]).toBe(
      '- [ ] Task 1.1: Show a ✅ next to passing builds ❌ failed (exit 1)',
    );
  });
});
