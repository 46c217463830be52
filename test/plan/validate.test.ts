import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/engine/plan/agents.js';
import { MAX_PLAN_BYTES } from '../../src/engine/plan/limits.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import type { Plan, Task } from '../../src/engine/plan/schema.js';
import { planDiagnostics, validatePlan } from '../../src/engine/plan/validate.js';

function check(text: string, agentDefinitions?: AgentDefinition[] | null) {
  return validatePlan(parsePlan(text).plan, { agentDefinitions });
}

const GOOD = `# Plan
## Parallel Group 1: A
- [ ] 1.1: One (Builder-1, 1h)
  - [ ] works
- [ ] 1.2: Two (Builder-2, 1h)
  - [ ] works
`;

function definition(name: string, fileName = name.toLowerCase()): AgentDefinition {
  return {
    name,
    fileName,
    file: `/repo/.claude/agents/${fileName}.md`,
    description: 'd',
    tools: null,
    model: null,
    prompt: '',
  };
}

describe('validatePlan', () => {
  it('accepts a well-formed plan', () => {
    expect(check(GOOD)).toEqual([]);
  });

  it('no-tasks: an error that names the dialects it knows', () => {
    expect(check('# Just prose\n\nNothing to run.\n')).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'no-tasks',
        line: 1,
        message: expect.stringMatching(/task lines.*task tables.*task blocks/),
      }),
    ]);
  });

  it('missing-agent: names the task and says how to fix it in its dialect', () => {
    const [finding] = check('## Parallel Group 1: A\n- [ ] Task 1.1: Orphan\n  - [ ] ok\n');
    expect(finding).toMatchObject({ severity: 'error', code: 'missing-agent', line: 2 });
    expect(finding!.hint).toContain('(Builder-1, 4h)');
  });

  it('missing-agent is not raised for work already done', () => {
    expect(check('## Parallel Group 1: A\n- [x] Task 1.1: Done already\n')).toEqual([]);
  });

  it('unknown-dependency: names the missing id', () => {
    const found = check(`| ID | Task | Agent | Depends On |
|---|---|---|---|
| T1 | a | B-1 | T9 |
`).filter((d) => d.code === 'unknown-dependency');
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'error',
        line: 3,
        message: expect.stringContaining('"T9"'),
      }),
    ]);
  });

  it('dependency-cycle: prints the cycle', () => {
    const found = check(`| ID | Task | Agent | Depends On |
|---|---|---|---|
| T1 | a | B-1 | T3 |
| T2 | b | B-1 | T1 |
| T3 | c | B-1 | T2 |
| T4 | d | B-1 | T1 |
`).filter((d) => d.code === 'dependency-cycle');
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'error',
        line: 3,
        message: 'dependency cycle: T1 → T3 → T2 → T1 (each waits for the next)',
      }),
    ]);
  });

  it('duplicate-id: points at the second one and the first', () => {
    const found = check(`${GOOD}- [ ] 1.1: Again (Builder-1, 1h)\n  - [ ] works\n`).filter(
      (d) => d.code === 'duplicate-id',
    );
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'error',
        line: 7,
        message: 'task id "1.1" is used twice (first at line 3)',
      }),
    ]);
  });

  it('empty-group: a Parallel Group heading with no tasks', () => {
    const found = check(`${GOOD}\n## Parallel Group 2: Later\nTBD\n`).filter(
      (d) => d.code === 'empty-group',
    );
    expect(found).toEqual([expect.objectContaining({ severity: 'error', line: 8 })]);
  });

  it('missing-criteria: a warning, unless the group lists criteria for all its tasks', () => {
    expect(check('## Parallel Group 1: A\n- [ ] 1.1: One (Builder-1)\n')).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'missing-criteria', line: 2 }),
    ]);
    expect(
      check(
        '## Parallel Group 1: A\n**Success Criteria**:\n- tests pass\n\n- [ ] 1.1: One (Builder-1)\n',
      ),
    ).toEqual([]);
  });

  it('group-not-waiting: tasks of a later group that name no dependency, nor does their group', () => {
    const table = (group2Deps: string) => `# Plan

| ID | Task | Agent | Group | Depends On |
|---|---|---|---|---|
| T1 | Build the core | Builder-1 | 1 | — |
| T2 | Build the API | Builder-2 | 1 | — |
| T3 | Test the core | Validator-1 | 2 | ${group2Deps} |
| T4 | Document it | Builder-3 | 2 | ${group2Deps} |
`;
    const found = (text: string) =>
      check(text)
        .filter((d) => d.code === 'group-not-waiting')
        .map((d) => [d.severity, d.line, d.message]);
    // The Group column alone orders nothing: said, on the first such task's line.
    expect(found(table('—'))).toEqual([
      [
        'warning',
        7,
        'tasks T3, T4 of group 2 wait for nothing: they start at once, beside group 1, since neither they nor the group name a dependency',
      ],
    ]);
    expect(found(table('T1'))).toEqual([]);
    // A group whose heading says it waits for nothing was written so.
    const headings = (deps: string) => `## Parallel Group 1: A
- [ ] 1.1: One (Builder-1)
## Parallel Group 2: B
${deps}
- [ ] 2.1: Two (Builder-2)
`;
    expect(found(headings('**Dependencies**: None'))).toEqual([]);
    expect(found(headings('**Dependencies**: Group 1 complete'))).toEqual([]);
    expect(found(headings(''))).toHaveLength(1);
  });

  it('file-conflict: two tasks of one group claiming the same file (or a folder holding it)', () => {
    const found = check(`## Parallel Group 1: A
- [ ] 1.1: One (Builder-1)
  - **Files**: \`src/app.ts\`
  - [ ] ok
- [ ] 1.2: Two (Builder-2)
  - **Files**: \`./src/app.ts\`
  - [ ] ok
- [ ] 1.3: Three (Builder-3)
  - **Files**: \`docs/\`
  - [ ] ok
- [ ] 1.4: Four (Builder-4)
  - **Files**: \`docs/api.md\`
  - [ ] ok

## Parallel Group 2: B
**Dependencies**: Group 1 complete
- [ ] 2.1: Five (Builder-1)
  - **Files**: \`src/app.ts\`
  - [ ] ok
`).filter((d) => d.code === 'file-conflict');
    expect(found.map((d) => [d.severity, d.line, d.message])).toEqual([
      [
        'warning',
        5,
        'tasks 1.1 and 1.2 in group 1 both claim ./src/app.ts: a merge conflict waiting to happen',
      ],
      [
        'warning',
        11,
        'tasks 1.3 and 1.4 in group 1 both claim docs/api.md: a merge conflict waiting to happen',
      ],
    ]);
  });

  it('unknown-agent: only when definitions exist; by file name or name, any case; All exempt', () => {
    const text = `## Parallel Group 1: A
- [ ] 1.1: One (Builder-1)
  - [ ] ok
- [ ] 1.2: Two (Reviewer_2)
  - [ ] ok
- [ ] 1.3: Three (Ghost-7)
  - [ ] ok
- [ ] 1.4: Four (All)
  - [ ] ok
- [ ] 1.5: Five (Ghost-7)
  - [ ] ok
`;
    expect(check(text, null)).toEqual([]);
    const found = check(text, [definition('builder-1'), definition('reviewer-2', 'code-reviewer')]);
    expect(found).toEqual([
      // A warning: a partial .claude/agents/ never blocks a run (definitions are optional).
      expect.objectContaining({
        severity: 'warning',
        code: 'unknown-agent',
        line: 6,
        message:
          'agent Ghost-7 has no definition in .claude/agents/ (used by 1.3, 1.5); it runs with its task prompt only',
      }),
    ]);
  });

  it('works on a plan built by hand, without the parser', () => {
    const task = (id: string, dependsOn: string[]): Task => ({
      id,
      idGenerated: false,
      title: id,
      agents: ['A-1'],
      group: null,
      dependsOn,
      estimateHours: null,
      status: 'pending',
      priority: null,
      branch: null,
      worktree: null,
      files: [],
      criteria: ['done'],
      details: '',
      dialect: 'table',
      line: 1,
      column: 1,
    });
    const plan: Plan = { title: null, groups: [], tasks: [task('a', ['a'])] };
    expect(validatePlan(plan).map((d) => d.message)).toEqual([
      'dependency cycle: a → a (each waits for the next)',
    ]);
  });
});

describe('plans beyond what the parser takes', () => {
  // Markdown's cost grows with size times nesting: a 1 MB list nested 1,000 deep kept the parser
  // busy a minute (the App, parsing a pull request's plan, answered nothing meanwhile); this
  // 360 KB one, nested 600 deep, some 10 s.
  const nested = (depth: number) =>
    [
      '## Parallel Group 1: G',
      '',
      '- [ ] 1.1: First (Builder-1, 1h)',
      ...Array.from({ length: depth }, (_, i) => `${'  '.repeat(i + 1)}- x`),
      '',
    ].join('\n');

  it('refuses a list nested more than 100 columns deep, at its line, without parsing it', () => {
    const started = Date.now();
    const { plan, diagnostics } = parsePlan(nested(600));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(plan.tasks).toEqual([]);
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', code: 'plan-too-deep', line: 53 }),
    ]);
    // 49 levels (100 columns to the text) is still a plan.
    expect(parsePlan(nested(49)).plan.tasks.map((task) => task.id)).toEqual(['1.1']);
  });

  it('refuses a plan longer than 512 K characters', () => {
    const row = '- [ ] 1.1: First (Builder-1, 1h)\n';
    const text = `## Parallel Group 1: G\n\n${row.repeat(Math.ceil(MAX_PLAN_BYTES / row.length))}`;
    const { plan, diagnostics } = parsePlan(text);
    expect(plan.tasks).toEqual([]);
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', code: 'plan-too-large', line: 1 }),
    ]);
    expect(diagnostics[0]!.message).toContain('more than the 524,288 a plan may have');
    // What validate, run, the Action and the App report: that it was not read, not also that it
    // has no tasks.
    expect(planDiagnostics({ plan, diagnostics }).map((d) => d.code)).toEqual(['plan-too-large']);
  });
});
