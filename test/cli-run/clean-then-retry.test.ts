import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { cli, writePlanJson } from './helpers.js';

const fx = useRepoAndScratch({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

/** a completes; b fails until a person commits fix.txt in its worktree. */
const AGENT = 'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"; [ "$PE_TASK_ID" = a ] || [ -e fix.txt ]';

async function stateOnDisk(): Promise<ExecutionState> {
  const dir = join(fx.repo.dir, '.parallel-executor', 'executions');
  const [id] = await readdir(dir);
  return JSON.parse(
    await readFile(join(dir, id!, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
  ) as ExecutionState;
}

describe('clean, then resume --retry-failed, as a partial run’s next steps offer', () => {
  // Found on a real project: the clean deleted a's branch (merged into the first integration
  // branch); the retry's new integration branch then dropped a ("branch not found"), so a's work
  // was only on the earlier branch, and the next steps said to merge a deleted branch by hand.
  it('integrates the cleaned task again with the retried one', async () => {
    await writePlanJson(fx.repo.dir, plan([task('a'), task('b')]));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    const first = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', AGENT],
      fx.repo.dir,
      env,
    );
    expect(first.code).toBe(1);
    const stopped = await stateOnDisk();
    const id = stopped.execution_id;
    const a = stopped.tasks['a']!;
    const b = stopped.tasks['b']!;
    expect(stopped.integration?.merged).toEqual(['a']);
    expect(first.stdout).toContain(`parallel-executor clean ${id}`);
    expect(first.stdout).toContain(`parallel-executor resume ${id} --retry-failed`);

    const cleaned = await cli(['clean', id], fx.repo.dir, env);
    expect(cleaned.stdout).toContain(`removed branch   ${a.branch}`);

    // The person's fix, committed in b's kept worktree.
    await writeFile(join(b.worktree!, 'fix.txt'), 'fixed\n');
    await fx.repo.git(['-C', b.worktree!, 'add', 'fix.txt']);
    await fx.repo.git(['-C', b.worktree!, 'commit', '-qm', 'fix by hand']);

    const retried = await cli(['resume', id, '--retry-failed'], fx.repo.dir, env);
    const out = retried.stdout + retried.stderr;
    expect(out).not.toContain('not found');
    expect(out).toContain(
      `its branch ${a.branch} had been deleted by clean once merged into ${stopped.integration!.branch}`,
    );
    expect(retried.code).toBe(0);
    const after = await stateOnDisk();
    expect(after.integration?.branch).not.toBe(stopped.integration!.branch);
    expect([...after.integration!.merged].sort()).toEqual(['a', 'b']);
    expect(await fx.repo.git(['show', `${after.integration!.branch}:out-a.txt`])).toBe('a');
    expect(await fx.repo.git(['show', `${after.integration!.branch}:fix.txt`])).toBe('fixed');

    // What the retry kept of b's branch is the hand fix it built on, and is named so: the summary
    // said "2 attempts" (the second one merged) beside "kept …/attempt-2: the failed attempt".
    const whys = (after.tasks['b']!.kept_refs ?? []).map((kept) => kept.why);
    expect(whys).toContain(
      '--retry-failed: the branch the retry builds on (the failed attempt and 1 commit(s) made after it)',
    );
    expect(whys).not.toContain('--retry-failed: the failed attempt');
    expect(out).toContain(
      'the retry starts from there, not from the start commit; the branch as it was is kept as',
    );
  });
});
