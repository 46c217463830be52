import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { onlyStatusesChanged } from '../../src/engine/plan/status-only.js';
import { writeBack } from '../../src/engine/plan/write-back.js';

const TEXT = readFileSync(
  join(import.meta.dirname, '..', '..', 'examples', 'MULTI_AGENT_PLAN.md'),
  'utf8',
);
const plan = (text: string) => parsePlan(text).plan;

describe('onlyStatusesChanged', () => {
  it('is true for what a run writes back: done, failed, a completed group, the report link', () => {
    const before = plan(TEXT);
    const [first, second] = before.tasks;
    const after = writeBack(TEXT, before, {
      tasks: [
        { id: first!.id, outcome: 'completed', actualMs: 4_000 },
        { id: second!.id, outcome: 'failed', note: 'validation failed: tests' },
      ],
      groups: [{ id: before.groups[0]!.id, completed: true, actualMs: 5_000 }],
      reportPath: 'reports/exec_1.md',
    });
    expect(after).not.toBe(TEXT);
    expect(onlyStatusesChanged(before, plan(after))).toBe(true);
  });

  it('is false when a task is added, retitled or reassigned', () => {
    const before = plan(TEXT);
    const [first] = before.tasks;
    const lines = TEXT.split('\n');
    const line = lines[first!.line - 1]!;
    const edits = [
      `${TEXT}\n- [ ] 9.9: A new task (Builder-1, 1h)\n`,
      TEXT.replace(line, line.replace(first!.title, `${first!.title} and more`)),
      TEXT.replace(line, line.replace(first!.agents[0]!, 'Builder-9')),
    ];
    for (const edited of edits) {
      expect(edited).not.toBe(TEXT);
      expect(onlyStatusesChanged(before, plan(edited))).toBe(false);
    }
  });
});
