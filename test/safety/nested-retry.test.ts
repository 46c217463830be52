import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathExists } from '../../src/engine/path-exists.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, runPlan, task } from '../engine/helpers.js';

let repo: TempRepo | null = null;
afterEach(async () => {
  await repo?.cleanup();
  repo = null;
});

const COMMIT = 'git -c user.name=A -c user.email=a@example.invalid -c commit.gpgsign=false';

describe('a retry after an attempt that left a nested repository', () => {
  it('moves it into the execution folder and names it, and the next attempt starts without it', async () => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    // First attempt: `git init` in a folder of its worktree, a commit there and a file left
    // uncommitted in it, then a failure. Second attempt: its own work.
    const agent = [
      'if [ ! -f "$PE_MESSAGES_DIR/../tried-$PE_TASK_ID" ]; then',
      '  touch "$PE_MESSAGES_DIR/../tried-$PE_TASK_ID"',
      `  mkdir -p vendor/lib && cd vendor/lib && git init -q && echo one > kept.txt && git add . && ${COMMIT} commit -qm one && echo two > loose.txt`,
      '  exit 1',
      'fi',
      'test ! -e vendor/lib || exit 3',
      'echo done > done.txt',
    ].join('\n');
    const result = await runPlan(repo.dir, plan([task('1')]), agent, { settings: { retries: 1 } });

    const run = result.state.tasks['1']!;
    expect(run.status).toBe('completed');
    expect(run.attempts).toBe(2);
    const keep = join(result.executionDir, 'kept', run.output_dir.split('/').pop()!, 'attempt-1');
    expect(await readFile(join(keep, 'vendor/lib/kept.txt'), 'utf8')).toBe('one\n');
    expect(await readFile(join(keep, 'vendor/lib/loose.txt'), 'utf8')).toBe('two\n');
    expect(await pathExists(join(keep, 'vendor/lib/.git'))).toBe(true);
    expect(run.warnings?.join('\n')).toContain(`vendor/lib`);
    expect(run.warnings?.join('\n')).toContain(keep);
    expect(await pathExists(join(run.worktree, 'vendor/lib'))).toBe(false);
  });
});
