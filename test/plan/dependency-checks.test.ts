import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';

describe('dependencies that cannot be right', () => {
  it('rejects a task that depends on itself', () => {
    const { diagnostics } = parsePlan(`# Plan

### TASK_001: Baseline
**Agent**: developer
**Dependencies**: TASK_001, TASK_002

### TASK_002: Other
**Agent**: developer
`);
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        code: 'self-dependency',
        message: 'task TASK_001 depends on itself',
        line: 5,
      }),
    );
  });

  it('says a group does not exist and lists the groups', () => {
    const { diagnostics } = parsePlan(`# Plan

## Parallel Group 1: Base
- [ ] 1.1: Do A (Builder-1, 1h)

## Parallel Group 2: Next
**Dependencies**: Group 7 complete
- [ ] 2.1: Do B (Builder-1, 1h)
`);
    const found = diagnostics.filter((d) => d.code === 'unknown-group');
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'error',
        message: 'group 2 depends on group 7, which does not exist (groups: 1, 2)',
        line: 7,
      }),
    ]);
    expect(diagnostics.some((d) => d.message.includes('could not read'))).toBe(false);
  });
});

describe('agent names', () => {
  it("compare case-insensitively and keep the plan's first spelling", () => {
    const { plan } = parsePlan(`# Plan

## Parallel Group 1: Base
- [ ] 1.1: Do A (Builder-1, 1h)
- [ ] 1.2: Do B (builder-1, 1h)
- [ ] 1.3: Do C (BUILDER-1, 1h)
`);
    expect(plan.tasks.map((task) => task.agents)).toEqual([
      ['Builder-1'],
      ['Builder-1'],
      ['Builder-1'],
    ]);
  });
});
