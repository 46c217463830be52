import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { taskById } from './helpers.js';

describe('table boards', () => {
  it('matches columns by meaning, whatever the header says', () => {
    const { plan, diagnostics } = parsePlan(`# Board

| # | Title | Owner | Wave | Blocked By | Status | Worktree Path | Git Branch | ETA | Owned files | Priority |
|---|---|---|---|---|---|---|---|---|---|---|
| T-01 | Schema | Architect-1 | 1 | — | \`done\` | ../wt/schema | \`feat/schema\` | 2h | \`db/schema.sql\` | P0 |
| T-02 | API | Builder-1 | 2 | T-01 | In Progress | ../wt/api | feat/api | 1.5h | src/api.ts, src/routes.ts | P1 |
| T-03 | UI | Builder-2 | 2 | T-01 | ⏳ | | | 30min | | |
`);
    expect(diagnostics).toEqual([]);
    expect(taskById(plan.tasks, 'T-01')).toMatchObject({
      title: 'Schema',
      agents: ['Architect-1'],
      group: '1',
      status: 'completed',
      worktree: '../wt/schema',
      branch: 'feat/schema',
      estimateHours: 2,
      files: ['db/schema.sql'],
      priority: 'P0',
      dependsOn: [],
      dialect: 'table',
      line: 5,
    });
    expect(taskById(plan.tasks, 'T-02')).toMatchObject({
      status: 'in_progress',
      dependsOn: ['T-01'],
      branch: 'feat/api',
      files: ['src/api.ts', 'src/routes.ts'],
    });
    expect(taskById(plan.tasks, 'T-03')).toMatchObject({ status: 'in_progress', worktree: null });
    expect(plan.groups.map((group) => group.id)).toEqual(['1', '2']);
  });

  it('reads the status cells real boards use', () => {
    const rows = [
      ['Not Started', 'pending'],
      ['Pending', 'pending'],
      ['ready', 'pending'],
      ['In Progress', 'in_progress'],
      ['Blocked', 'blocked'],
      ['Completed', 'completed'],
      ['✅ Completed', 'completed'],
      ['`done`', 'completed'],
      ['❌', 'failed'],
      ['Review', 'review'],
      ['Skipped', 'skipped'],
    ];
    const table = rows.map(
      ([cell], index) => `| T${index + 1} | Task ${index + 1} | Builder-1 | ${cell} |`,
    );
    const { plan } = parsePlan(
      `| ID | Task | Agent | Status |\n|---|---|---|---|\n${table.join('\n')}\n`,
    );
    expect(plan.tasks.map((task) => task.status)).toEqual(rows.map(([, status]) => status));
  });

  it('warns about a status it does not know and treats the task as pending', () => {
    const { plan, diagnostics } = parsePlan(
      '| ID | Task | Agent | Status |\n|---|---|---|---|\n| T1 | Work | B-1 | Frobnicated |\n',
    );
    expect(plan.tasks[0]!.status).toBe('pending');
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'unknown-status', severity: 'warning', line: 3 }),
    ]);
  });

  it('understands every dependency form of the corpus', () => {
    const { plan } = parsePlan(`| ID | Task | Agent | Depends On |
|---|---|---|---|
| T1 | a | B-1 | None |
| T2 | b | B-1 | - |
| T3 | c | B-1 | T1 |
| T4 | d | B-1 | T1, T3 |
| T5 | e | B-1 | T2 and T4 |
| T6 | f | B-1 | T1-T5 |
| T7 | g | B-1 | All above |
| T8 | h | B-1 | all of T2–T4 |
| T9 | i | B-1 | all previous |
`);
    const deps = Object.fromEntries(plan.tasks.map((task) => [task.id, task.dependsOn]));
    expect(deps).toEqual({
      T1: [],
      T2: [],
      T3: ['T1'],
      T4: ['T1', 'T3'],
      T5: ['T2', 'T4'],
      T6: ['T1', 'T2', 'T3', 'T4', 'T5'],
      T7: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6'],
      T8: ['T2', 'T3', 'T4'],
      T9: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8'],
    });
  });

  it('expands padded ranges with spaced dashes: T-03 – T-07', () => {
    const rows = Array.from({ length: 8 }, (_, index) => {
      const id = `T-0${index + 1}`;
      return `| ${id} | task ${index + 1} | B-1 | ${index === 7 ? 'T-03 – T-07' : '—'} |`;
    });
    const { plan } = parsePlan(
      `| Task ID | Description | Agent | Dependencies |\n|--|--|--|--|\n${rows.join('\n')}\n`,
    );
    expect(taskById(plan.tasks, 'T-08').dependsOn).toEqual([
      'T-03',
      'T-04',
      'T-05',
      'T-06',
      'T-07',
    ]);
  });

  it('a later table or detail heading that repeats ids enriches, never duplicates', () => {
    const { plan } = parsePlan(`# Plan

| Task ID | Description | Agent | Status |
|---|---|---|---|
| T0 | API client verification | | Not Started |
| T1 | Stats tool one | Builder-1 | Not Started |
| T2 | Stats tool two | Builder-1 | Not Started |

| Task | Agent | Model |
|---|---|---|
| T1-T2 | Builder | Sonnet |

### T0: API Client Verification (Validator)
**Status**: ✅ Completed
Checks the client against the live API.

### T1-T2: Simple Stats Tools
- **Files**: \`src/stats.ts\`
`);
    expect(plan.tasks.map((task) => task.id)).toEqual(['T0', 'T1', 'T2']);
    expect(taskById(plan.tasks, 'T0')).toMatchObject({
      agents: [],
      status: 'completed',
      details: 'Checks the client against the live API.',
    });
    expect(taskById(plan.tasks, 'T1')).toMatchObject({
      agents: ['Builder-1'],
      files: ['src/stats.ts'],
    });
    expect(taskById(plan.tasks, 'T2').files).toEqual(['src/stats.ts']);
  });

  it('fills an empty agent from a detail heading that names a known agent', () => {
    const { plan } = parsePlan(`| Agent | Role |
|---|---|
| Validator | checks |

| Task ID | Description | Agent |
|---|---|---|
| T0 | API client verification | |

### T0: API Client Verification (Validator)
`);
    expect(plan.tasks[0]!.agents).toEqual(['Validator']);
  });

  it('generates ids for a title-and-owner table under a group heading', () => {
    const { plan } = parsePlan(`## Wave 3: Polish

| Task | Owner |
|---|---|
| Tidy the CSS | UI Agent |
| Fix the footer | UI Agent |
`);
    expect(plan.tasks.map((task) => [task.id, task.group, task.idGenerated])).toEqual([
      ['G3-T1', '3', true],
      ['G3-T2', '3', true],
    ]);
  });

  it('ignores tables that are not task boards (rosters, cost tables, fenced tables)', () => {
    const { plan } = parsePlan(`| Agent | Role |
|---|---|
| Builder-1 | builds |

| Approach | Agents | Token Usage | Time |
|---|---|---|---|
| Multi | 1 orch + 3 workers | 45K tokens | 2 hours |

\`\`\`markdown
| ID | Task | Agent |
|---|---|---|
| T1 | fenced | Builder-1 |
\`\`\`
`);
    expect(plan.tasks).toEqual([]);
  });
});
