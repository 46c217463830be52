import { readFileSync } from 'node:fs';
import type { Code } from 'mdast';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { validatePlan } from '../../src/engine/plan/validate.js';
import { seedSkillFile, taskById } from './helpers.js';

/** The ```markdown examples of the seed skill, read with remark like the plans themselves. */
function seedExamples(): string[] {
  const tree = unified().use(remarkParse).parse(readFileSync(seedSkillFile, 'utf8'));
  return tree.children
    .filter((node): node is Code => node.type === 'code' && node.lang === 'markdown')
    .map((node) => node.value);
}

const SEED_PLAN = `# Auth service plan

## Parallel Group 1: Foundation (Days 1-2)
**Duration**: 2 days
**Dependencies**: None

- [x] Task 1.1: Design the token format (Agent: Architect-1, Est: 4h)
  - [x] Token claims documented
  - [ ] Reviewed by Validator-1
- [ ] 1.2: Create User model and repository (Builder-1, 90min)
  - **Files**: \`src/user.ts\`, \`src/user.repo.ts\`
  - **Priority**: high

### Parallel Group 2: Core Auth ✅ COMPLETED
**Duration**: 3 days → **Actual**: 1h 44min
**Dependencies**: Group 1 complete

- [x] 2.1: Implement JWT service (Builder-1, 6h) ✅ 1h 32min
- [x] 2.3: Build registration endpoint (Builder-1, 5h) ⏭️ Moved to Group 3
- [x] 2.4: Write auth flow integration tests (Validator-1, 6h) ⚠️ 1h 41min (warnings)
- [ ] 2.5: Rotate signing keys (Builder-2, 2d) ❌ failed

## Parallel Group 3: API Endpoints
**Dependencies**: Group 1 complete, can overlap with Group 2

- Task 3.1: Build /auth/login endpoint (Builder-1)
- Task 3.2: Extract Product Catalog service (Builder-1, Builder-2)

## Parallel Group: Comprehensive Testing
**Dependencies**: All previous groups complete

- Task: Unit tests (Validator-1)
- Task: Security audit (All, 1.5h)

\`\`\`markdown
- [ ] Task 9.1: Inside a code fence (Builder-1, 1h)
\`\`\`

> - [ ] Task 9.2: Inside a block quote (Builder-1, 1h)

<!--
- [ ] Task 9.3: Inside an HTML comment (Builder-1, 1h)
-->

## Success Criteria
- [ ] All tests pass
`;

describe('seed dialect', () => {
  it('reads the three task-line syntaxes, checkboxes, marks, estimates and nested criteria', () => {
    const { plan, diagnostics } = parsePlan(SEED_PLAN);
    expect(diagnostics).toEqual([]);
    expect(plan.title).toBe('Auth service plan');
    expect(plan.tasks.map((task) => task.id)).toEqual([
      '1.1',
      '1.2',
      '2.1',
      '2.3',
      '2.4',
      '2.5',
      '3.1',
      '3.2',
      'comprehensive-testing-T1',
      'comprehensive-testing-T2',
    ]);
    expect(taskById(plan.tasks, '1.1')).toMatchObject({
      title: 'Design the token format',
      agents: ['Architect-1'],
      estimateHours: 4,
      status: 'completed',
      criteria: ['Token claims documented', 'Reviewed by Validator-1'],
      group: '1',
      dialect: 'seed',
      line: 7,
      column: 1,
      idGenerated: false,
    });
    expect(taskById(plan.tasks, '1.2')).toMatchObject({
      agents: ['Builder-1'],
      estimateHours: 1.5,
      status: 'pending',
      files: ['src/user.ts', 'src/user.repo.ts'],
      priority: 'high',
    });
    expect(taskById(plan.tasks, '2.1')).toMatchObject({
      title: 'Implement JWT service',
      status: 'completed',
      estimateHours: 6,
    });
    expect(taskById(plan.tasks, '2.3').status).toBe('skipped');
    expect(taskById(plan.tasks, '2.4').status).toBe('completed');
    expect(taskById(plan.tasks, '2.5')).toMatchObject({ status: 'failed', estimateHours: 16 });
    expect(taskById(plan.tasks, '3.2').agents).toEqual(['Builder-1', 'Builder-2']);
    expect(taskById(plan.tasks, 'comprehensive-testing-T2')).toMatchObject({
      title: 'Security audit',
      agents: ['All'],
      idGenerated: true,
      group: 'Comprehensive Testing',
    });
  });

  it('never reads tasks from code fences, block quotes or HTML comments', () => {
    const { plan } = parsePlan(SEED_PLAN);
    expect(plan.tasks.some((task) => task.id.startsWith('9.'))).toBe(false);
    expect(plan.tasks.some((task) => task.title.startsWith('All tests'))).toBe(false);
  });

  it('reads groups: ids, durations, statuses and group-level dependencies on every task', () => {
    const { plan } = parsePlan(SEED_PLAN);
    expect(
      plan.groups.map((group) => [group.id, group.title, group.status, group.dependsOn]),
    ).toEqual([
      ['1', 'Foundation (Days 1-2)', 'in_progress', []],
      ['2', 'Core Auth', 'completed', ['1']],
      ['3', 'API Endpoints', 'pending', ['1']], // "can overlap with Group 2" is not a dependency
      ['Comprehensive Testing', 'Comprehensive Testing', 'pending', ['1', '2', '3']],
    ]);
    expect(plan.groups[1]).toMatchObject({
      durationText: '3 days',
      dependenciesText: 'Group 1 complete',
    });
    expect(taskById(plan.tasks, '2.1').dependsOn).toEqual(['1.1', '1.2']);
    expect(taskById(plan.tasks, '3.1').dependsOn).toEqual(['1.1', '1.2']);
    expect(taskById(plan.tasks, 'comprehensive-testing-T1').dependsOn).toEqual([
      '1.1',
      '1.2',
      '2.1',
      '2.3',
      '2.4',
      '2.5',
      '3.1',
      '3.2',
    ]);
  });

  it('treats open tasks of a group marked ✅ COMPLETED as completed', () => {
    const { plan } = parsePlan(
      '## Parallel Group 1: Done ✅ COMPLETED\n\n- [ ] 1.1: Old work (Builder-1, 1h)\n',
    );
    expect(plan.tasks[0]!.status).toBe('completed');
  });

  it('parses every example of the seed skill', () => {
    const examples = seedExamples();
    const withTasks = examples
      .map((text) => parsePlan(text).plan)
      .filter((plan) => plan.tasks.length > 0);
    // Step 5.3 (status write-back) and Examples 1-3.
    expect(withTasks).toHaveLength(4);
    const [writeBack, api, services, testing] = withTasks;
    expect(writeBack!.tasks.map((task) => [task.id, task.status])).toEqual([
      ['2.1', 'completed'],
      ['2.2', 'completed'],
      ['2.3', 'skipped'],
      ['2.4', 'completed'],
    ]);
    expect(writeBack!.groups[0]).toMatchObject({
      id: '2',
      status: 'completed',
      durationText: '3 days',
    });
    expect(api!.tasks.map((task) => `${task.id}:${task.agents.join('+')}`)).toEqual([
      '3.1:Builder-1',
      '3.2:Builder-2',
      '3.3:Builder-1',
      '3.4:Validator-1',
      '3.5:Validator-2',
    ]);
    expect(services!.tasks[0]).toMatchObject({
      id: '2.1',
      agents: ['Builder-1', 'Builder-2'],
      group: '2',
    });
    expect(testing!.tasks.map((task) => task.id)).toEqual([
      'comprehensive-testing-T1',
      'comprehensive-testing-T2',
      'comprehensive-testing-T3',
      'comprehensive-testing-T4',
      'comprehensive-testing-T5',
    ]);
    expect(testing!.tasks[4]).toMatchObject({ title: 'Security audit', agents: ['Validator-5'] });
    for (const plan of withTasks) {
      expect(validatePlan(plan!).filter((d) => d.severity === 'error')).toEqual([]);
    }
  });

  it('finds no tasks in the seed skill document itself (its examples are fenced)', () => {
    const { plan } = parsePlan(readFileSync(seedSkillFile, 'utf8'));
    expect(plan.tasks).toEqual([]);
  });

  it('keeps generated ids stable when a task title changes', () => {
    const before = parsePlan('## Parallel Group 2: X\n- Task: Write docs (Scribe-1)\n').plan;
    const after = parsePlan('## Parallel Group 2: X\n- Task: Write the API docs (Scribe-1)\n').plan;
    expect(before.tasks[0]!.id).toBe('G2-T1');
    expect(after.tasks[0]!.id).toBe('G2-T1');
  });

  it('does not take a parenthesised note for an agent', () => {
    const { plan } = parsePlan('## Parallel Group 1: X\n- Task 1.1: Tag the release (optional)\n');
    expect(plan.tasks[0]).toMatchObject({
      id: '1.1',
      title: 'Tag the release (optional)',
      agents: [],
    });
  });

  it('reads a plan with CRLF line endings and a byte-order mark', () => {
    const text = `\uFEFF${SEED_PLAN.replace(/\n/g, '\r\n')}`;
    const { plan } = parsePlan(text);
    expect(plan.tasks).toHaveLength(10);
    expect(taskById(plan.tasks, '2.1')).toMatchObject({ title: 'Implement JWT service', line: 18 });
  });

  it('names a line written like the task lines beside it that is not read as a task', () => {
    // 1.2's agent is a first name, 1.3 names none: neither runs, and a run marked the group
    // "✅ COMPLETED" with both still unticked, without a word.
    const text = [
      '## Parallel Group 1: Core',
      '',
      '- [ ] 1.1: Build the API (Builder-1, 2h)',
      '  - [ ] 1.9: a criterion, not a task',
      '- [ ] 1.2: Write the migration (Dana, 1h)',
      '- [ ] 1.3: Add docs',
      '',
      '## Notes',
      '',
      '- 2.1: a numbered note in a list with no task lines',
      '',
    ].join('\n');
    const { plan, diagnostics } = parsePlan(text);
    expect(plan.tasks.map((task) => task.id)).toEqual(['1.1']);
    const passed = diagnostics.filter((d) => d.code === 'task-line-not-read');
    expect(passed.map((d) => [d.severity, d.line])).toEqual([
      ['warning', 5],
      ['warning', 6],
    ]);
    expect(passed[0]!.message).toContain('"1.2"');
    expect(passed[0]!.message).toContain('"(Dana, 1h)" names no agent the plan knows');
    expect(passed[0]!.hint).toContain('1.2: Write the migration (Builder-1, 1h)');
    expect(passed[1]!.message).toContain('no agent in parentheses');
    expect(passed[1]!.message).toContain('marked completed without it');
  });

  it('names the part of an agent parenthesis that is neither an agent nor an estimate', () => {
    // Builder-2 is an agent of the plan: "names no agent the plan knows" sent the user looking
    // at the agent, when "depends on 1.1" was what kept the line from being read.
    const text = [
      '## Parallel Group 1: Core',
      '',
      '- [ ] 1.1: Build the API (Builder-1, 2h)',
      '- [ ] 1.2: Export to JSON (Builder-2, 1h, depends on 1.1)',
      '',
    ].join('\n');
    const { plan, diagnostics } = parsePlan(text);
    expect(plan.tasks.map((task) => task.id)).toEqual(['1.1']);
    const [passed] = diagnostics.filter((d) => d.code === 'task-line-not-read');
    expect(passed!.message).toContain(
      '"depends on 1.1" in "(Builder-2, 1h, depends on 1.1)" is neither an agent nor an estimate',
    );
    expect(passed!.message).not.toContain('names no agent');
    expect(passed!.hint).toContain('"1.2: Export to JSON (Builder-2, 1h)"');
    expect(passed!.hint).toContain('"- Dependencies: <task id>, …"');
  });

  it('suggests the agent meant when it is written without its hyphen', () => {
    // "(Builder 2, 1h)" was told to write Builder-1, another agent.
    const text = [
      '## Parallel Group 1: Core',
      '',
      '- [ ] 1.1: Build the API (Builder-1, 2h)',
      '- [ ] 1.2: Write the lexer (Builder 2, 1h)',
      '- [ ] 1.3: Write the docs (validator_3)',
      '',
    ].join('\n');
    const passed = parsePlan(text).diagnostics.filter((d) => d.code === 'task-line-not-read');
    expect(passed.map((d) => d.hint)).toEqual([
      expect.stringContaining('"1.2: Write the lexer (Builder-2, 1h)"'),
      expect.stringContaining('"1.3: Write the docs (validator-3)"'),
    ]);
  });

  it("reads a task's own dependencies from a line under it, its label bold or not", () => {
    // A plain "- Dependencies: 1.1" was a detail: 1.2 ran beside 1.1, and validate said nothing.
    const text = [
      '## Parallel Group 1: Core',
      '',
      '- [ ] 1.1: Build the API (Builder-1, 2h)',
      '- [ ] 1.2: Export to JSON (Builder-2, 1h)',
      '  - Dependencies: 1.1',
      '  - [ ] JSON matches the API',
      '- [ ] 1.3: Export to CSV (Builder-3, 1h)',
      '  - Depends on: 1.l',
      '- [ ] 1.4: Docs (Builder-4, 1h)',
      '  - **Dependencies**: 1.2',
      '- [ ] 1.5: Notes (Builder-5, 1h)',
      '  - Note: depends on nothing',
      '',
    ].join('\n');
    const { plan } = parsePlan(text);
    expect(plan.tasks.map((task) => [task.id, task.dependsOn])).toEqual([
      ['1.1', []],
      ['1.2', ['1.1']],
      ['1.3', ['1.l']],
      ['1.4', ['1.2']],
      ['1.5', []],
    ]);
    expect(taskById(plan.tasks, '1.2').criteria).toEqual(['JSON matches the API']);
    expect(taskById(plan.tasks, '1.5').details).toContain('Note: depends on nothing');
    const unknown = validatePlan(plan).filter((d) => d.code === 'unknown-dependency');
    expect(unknown.map((d) => [d.line, d.message])).toEqual([
      [7, 'task 1.3 depends on "1.l", which is not a task in this plan; did you mean 1.1?'],
    ]);
  });
});
