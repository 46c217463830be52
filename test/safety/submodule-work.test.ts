import { afterEach, describe, expect, it } from 'vitest';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { agentEnv, plan, scratch, task } from '../engine/helpers.js';
import { addSubmodule, createTempRepo, FILE_PROTOCOL, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runChecked } from './collect-support.js';

let repo: TempRepo;
let library: TempRepo;
afterEach(async () => {
  await repo?.cleanup();
  await library?.cleanup();
});

describe('an agent that commits inside a submodule of the project', () => {
  // The commit existed only in the worktree's clone of the submodule: the task was merged, the
  // worktree removed, and the integration branch pointed the submodule at a commit gone for good.
  it('keeps that commit under a ref of the task and says to push it before merging', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    const agent = [
      `(cd lib && echo fix > fix.txt && git add fix.txt && ${AGENT_GIT} commit -qm fix)`,
      `git add lib && ${AGENT_GIT} commit -qm bump && ${LEDGER_COMMIT}`,
    ].join(' && ');
    const ledger = await scratch();
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        env: FILE_PROTOCOL,
        finish: { cleanUp: true },
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(run.state.integration?.merged).toEqual(['1']);
      const link = await repo.git(['rev-parse', `${run.state.integration!.branch}:lib`]);
      const kept = (t.kept_refs ?? []).find((k) => k.sha === link);
      expect(kept?.ref).toMatch(/\/1\/submodule-[0-9a-f]{12}$/);
      expect(await repo.git(['show', `${kept!.ref}:fix.txt`])).toBe('fix');
      expect(t.warnings?.join('\n')).toContain(
        `points submodules at commits the agent made inside them and pushed nowhere`,
      );
      expect(t.warnings?.join('\n')).toContain(
        `lib at ${link.slice(0, 12)} (kept at ${kept!.ref})`,
      );
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    } finally {
      await ledger.cleanup();
    }
  });

  it('says nothing of a submodule commit a remote-tracking branch holds (one the agent fetched)', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    await library.write('more.txt', 'more\n');
    await library.commit('more');
    const agent = [
      '(cd lib && git fetch -q origin && git checkout -q origin/HEAD)',
      `git add lib && ${AGENT_GIT} commit -qm bump && ${LEDGER_COMMIT}`,
    ].join(' && ');
    const ledger = await scratch();
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        env: FILE_PROTOCOL,
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(t.kept_refs ?? []).toEqual([]);
      expect(t.warnings?.join('\n') ?? '').not.toContain('submodule');
    } finally {
      await ledger.cleanup();
    }
  });
});

describe('an agent that commits inside a submodule of the project, in a task that fails', () => {
  // Only collection fetched such a commit: a failed task's went with its worktree's clone of the
  // submodule when clean --force removed the worktree, or when a retry reset it and a clean
  // removed it after, while its kept ref pointed the submodule at it.
  const inner = `(cd lib && echo fix > fix.txt && git add fix.txt && ${AGENT_GIT} commit -qm fix)`;
  const bump = `git add lib && ${AGENT_GIT} commit -qm bump && ${LEDGER_COMMIT}`;

  async function keptFix(refs: readonly { ref: string; sha: string }[] | undefined) {
    const kept = (refs ?? []).filter((k) => /\/1\/submodule-[0-9a-f]{12}$/.test(k.ref));
    expect(kept, JSON.stringify(refs)).toHaveLength(1);
    expect(await repo.git(['show', `${kept[0]!.ref}:fix.txt`])).toBe('fix');
    return kept[0]!;
  }

  it('keeps the commit under a ref of the task, named, before clean --force removes the worktree', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    const ledger = await scratch();
    try {
      const run = await runChecked(
        repo,
        ledger.dir,
        plan([task('1')]),
        `${inner} && ${bump} && exit 1`,
        {
          env: FILE_PROTOCOL,
        },
      );
      const t = run.state.tasks['1']!;
      expect(t.status).toBe('failed');
      const cleaned = await cleanupExecution(run.state, {
        repoRoot: repo.dir,
        executionDir: run.executionDir,
        env: agentEnv(FILE_PROTOCOL),
        force: true,
      });
      expect(cleaned.items.find((i) => i.kind === 'worktree')?.action).toBe('removed');
      const kept = await keptFix(cleaned.keptRefs);
      expect(t.warnings?.join('\n')).toContain(
        `lib at ${kept.sha.slice(0, 12)} (kept at ${kept.ref})`,
      );
      expect(await repo.git(['cat-file', '-t', kept.sha])).toBe('commit');
    } finally {
      await ledger.cleanup();
    }
  });

  it('keeps the commit of a failed attempt before the retry resets the worktree', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    const ledger = await scratch();
    try {
      const agent = [
        `if [ ! -e "$LEDGER/tried" ]; then touch "$LEDGER/tried" && ${inner} && ${bump} && exit 1; fi`,
        // The next attempt puts the submodule back where the branch has it, as a fresh start.
        'git -c protocol.file.allow=always submodule update -q',
        `echo done > done.txt && git add done.txt && ${AGENT_GIT} commit -qm done && ${LEDGER_COMMIT}`,
      ].join('; ');
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        env: FILE_PROTOCOL,
        settings: { retries: 1 },
        finish: { cleanUp: true },
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(t.attempts).toBe(2);
      const kept = await keptFix(t.kept_refs);
      expect(t.warnings?.join('\n')).toContain(`(kept at ${kept.ref})`);
    } finally {
      await ledger.cleanup();
    }
  });
});
