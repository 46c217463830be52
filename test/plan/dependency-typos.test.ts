import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../cli-run/helpers.js';
import { nearIds } from '../../src/engine/plan/near-ids.js';
import { createTempRepo } from '../support/git-repo.js';

/** A board of T1..T5 whose T3 waits for `cell`. */
function board(cell: string): string {
  return `# Board

| ID | Task | Agent | Phase | Depends On | Status |
|---|---|---|---|---|---|
| T1 | Schema | Builder-1 | 1 | — | Not Started |
| T2 | Fixtures | Builder-2 | 1 | None | Not Started |
| T3 | API | Builder-1 | 2 | ${cell} | Not Started |
| T4 | UI | Builder-2 | 2 | T3 | Not Started |
| T5 | Docs | Builder-3 | 2 | T4 | Not Started |
`;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pe-deptypo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(cell: string) {
  await writeFile(path.join(dir, 'MULTI_AGENT_PLAN.md'), board(cell));
  return cli(['validate'], dir);
}

describe('a dependency typed close to a task id', () => {
  it('Tl (l for 1) is an error at its line that names T1, not free text to ignore', async () => {
    const t = await validate('Tl');
    expect(t.code).toBe(1);
    expect(t.stdout.split('\n')).toContain(
      'MULTI_AGENT_PLAN.md:7:29 error dependency-misspelled "Tl" is not a task id in this plan; did you mean T1?',
    );
    expect(t.stdout).not.toContain('as a dependency; it is ignored');
    expect(t.stdout).toContain('✖ invalid');
  });

  it.each([
    ['TI', 'T1'],
    ['t1:', 'T1'],
    ['#T2', 'T2'],
  ])('%s is an error naming %s', async (cell, id) => {
    const t = await validate(cell);
    expect(t.code).toBe(1);
    expect(t.stdout).toContain(`error dependency-misspelled "${cell}" is not a task id`);
    expect(t.stdout).toContain(`did you mean ${id}?`);
  });

  it('an unknown id one edit from a single task says which (T11 → T1)', async () => {
    const t = await validate('T11');
    expect(t.code).toBe(1);
    expect(t.stdout).toContain(
      'error unknown-dependency task T3 depends on "T11", which is not a task in this plan; did you mean T1?',
    );
  });

  it('a run refuses it too, before starting anything', async () => {
    const repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': board('Tl') } });
    try {
      const t = await cli(['run', '--dry-run'], repo.dir);
      expect(t.code).not.toBe(0);
      expect(t.stderr).toContain(
        'MULTI_AGENT_PLAN.md:7:29: "Tl" is not a task id in this plan; did you mean T1?',
      );
    } finally {
      await repo.cleanup();
    }
  });

  it.each(['none', '—', 'N/A', 'T1 (after the API is done)', 'after the API is done', 'Phase 1'])(
    'free text %s is read as before: no error',
    async (cell) => {
      const t = await validate(cell);
      expect(t.stdout).not.toContain('dependency-misspelled');
      expect(t.stdout).toContain('✔ valid');
    },
  );
});

describe('nearIds', () => {
  it('leaves prose alone, even prose that shares letters with ids', () => {
    expect(nearIds('All', ['A0', 'A1', 'A2'])).toEqual([]);
    expect(nearIds('API', ['T1', 'T2'])).toEqual([]);
    expect(nearIds('4测试包', ['4', 'T4'])).toEqual([]);
    expect(nearIds('after the API is done', ['T1'])).toEqual([]);
  });

  it('finds case, punctuation, l/1, I/1, O/0 and one-edit slips', () => {
    expect(nearIds('TASK_0O3', ['TASK_003', 'TASK_004'])).toEqual(['TASK_003']);
    expect(nearIds('2.l', ['1.1', '2.1'])).toEqual(['2.1']);
    expect(nearIds('t-01', ['T-01', 'T-02'])).toEqual(['T-01']);
    expect(nearIds('T11', ['T1', 'T2'])).toEqual(['T1']);
  });
});
