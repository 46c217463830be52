import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, scratch, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, filesOn, LEDGER_COMMIT, runChecked } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/** Shell: record a file left in the worktree (with its content) in the ledger. */
const ledgerFile = (path: string, content: string) =>
  `printf '{"uncommitted":"${path}","content":"${content}\\\\n","task":"%s"}\\n' "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"`;

describe('an agent that hides its own files with .gitignore', () => {
  // chaos --extra behaviour ignoreOwn: the task was merged and its worktree removed with the files.
  it('names them, and keeps them under a ref when its worktree is removed; the project ignored files are left alone', async () => {
    repo = await createTempRepo({ files: { 'README.md': '# r\n', '.gitignore': 'build/\n' } });
    const agent = [
      `echo code > code.txt && git add code.txt && ${AGENT_GIT} commit -qm code && ${LEDGER_COMMIT}`,
      'echo "out/" >> .gitignore && mkdir -p out build',
      `echo result > out/result.txt && ${ledgerFile('out/result.txt', 'result')}`,
      'echo cache > build/cache.txt',
    ].join(' && ');
    const ledger = await scratch();
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        finish: { cleanUp: true },
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(run.state.integration?.merged).toEqual(['1']);
      expect(t.warnings?.join('\n')).toMatch(
        /the agent's own changes to \.gitignore hide files it wrote in .*: out\/result\.txt\. /,
      );
      expect(t.warnings?.join('\n')).not.toContain('build/cache.txt');
      await expect(access(join(t.worktree, 'out'))).rejects.toThrow();
      const kept = t.kept_refs ?? [];
      // At collection (kept at once), and again when clean-up removed the worktree.
      expect(kept.map((k) => k.why)).toEqual([
        'files only its own .gitignore lines hide (not merged)',
        'clean: worktree removed',
      ]);
      expect(t.warnings?.join('\n')).toContain(`; they are kept at ${kept[0]!.ref}.`);
      expect(await repo.git(['show', `${kept[1]!.ref}:out/result.txt`])).toBe('result');
      expect(await repo.git(['show', `${kept[0]!.ref}:out/result.txt`])).toBe('result');
      expect(await filesOn(repo, kept[0]!.ref)).not.toContain('build/cache.txt');
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    } finally {
      await ledger.cleanup();
    }
  });
});
