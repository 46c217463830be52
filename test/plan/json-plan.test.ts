import { execFileSync } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPlanForRun } from '../../src/cli/plan-input.js';
import { parsePlan } from '../../src/engine/plan/index.js';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
let outside: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': 'x\n' } });
  outside = await createTempRepo({ files: { 'secret.json': JSON.stringify(plan([task('1')])) } });
});

afterEach(async () => {
  await repo.cleanup();
  await outside.cleanup();
});

describe('a .json plan gets the Markdown plan’s checks', () => {
  // `run --plan x.json` read whatever was at the path: a link committed in a branch read a file of
  // the machine as the plan, a FIFO blocked for ever; escaped control characters (`\u001b[2J`)
  // reached the terminal, the report and the prompts as real ones.
  it('refuses a link to a file outside the repository, and a FIFO', async () => {
    await symlink(join(outside.dir, 'secret.json'), join(repo.dir, 'plan.json'));
    await expect(loadPlanForRun('plan.json', repo.dir)).rejects.toThrow(
      /plan file plan\.json is a symbolic link to .*secret\.json, outside the repository/,
    );
    execFileSync('mkfifo', [join(repo.dir, 'fifo.json')]);
    await expect(loadPlanForRun('fifo.json', repo.dir)).rejects.toThrow(
      /plan file fifo\.json is not a regular file/,
    );
  });

  it('reads control and bidirectional characters in its text as U+FFFD, with a warning', async () => {
    const hostile = plan([
      task('1', { title: 'Build \u001b[2Jit' }),
      task('2', { title: 'Pay \u202Eyrev\u202C now', agents: ['Builder-1\u2066'] }),
      task('3', { title: 'Plain' }),
    ]);
    await writeFile(join(repo.dir, 'plan.json'), JSON.stringify(hostile));
    const loaded = await loadPlanForRun('plan.json', repo.dir);
    expect(loaded.plan.tasks.map((t) => t.title)).toEqual([
      'Build \uFFFD[2Jit',
      'Pay \uFFFDyrev\uFFFD now',
      'Plain',
    ]);
    expect(loaded.plan.tasks[1]!.agents).toEqual(['Builder-1\uFFFD']);
    expect(JSON.stringify(loaded.plan)).not.toMatch(/\\u001b|\u202e|\u2066/i);
    expect(loaded.warnings).toEqual([
      expect.stringMatching(
        /^plan\.json: control or bidirectional characters in tasks\.0\.title, tasks\.1\.title, tasks\.1\.agents\.0; read as \uFFFD/,
      ),
    ]);
  });
});

describe('bidirectional controls in a Markdown plan', () => {
  it('are read as U+FFFD, with a warning naming them', () => {
    const text = [
      '| ID | Task | Agent |',
      '|---|---|---|',
      '| T1 | Refund \u202Eredro\u202C | Builder-1 |',
      '',
    ].join('\n');
    const { plan: parsed, diagnostics } = parsePlan(text);
    expect(parsed.tasks[0]!.title).toBe('Refund \uFFFDredro\uFFFD');
    const found = diagnostics.filter((d) => d.code === 'control-character');
    expect(found.map((d) => [d.line, d.column])).toEqual([[3, 15]]);
    expect(found[0]!.message).toMatch(/^bidirectional control character .* U\+202E in the plan/);
  });
});
