import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultBranchName,
  freeBranchName,
  isValidBranchName,
  nameInUse,
  namesInUse,
  sanitizeBranchName,
  slugify,
  taskSlug,
  uniqueName,
} from '../../src/engine/workspace/refs.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
beforeAll(async () => {
  repo = await createTempRepo();
});
afterAll(async () => {
  await repo.cleanup();
});

describe('branch names from plan text', () => {
  it('follows the seed: agent/<agent>/<task-slug>', () => {
    expect(defaultBranchName('Builder-1', '2.1', 'Implement JWT service')).toBe(
      'agent/builder-1/2-1-implement-jwt-service',
    );
    expect(slugify('Ünïcödé Çafé')).toBe('unicode-cafe');
    expect(taskSlug('T-9', '日本語')).toBe('t-9');
    expect(taskSlug('日本', '語')).toBe('task');
    expect(defaultBranchName('', '', '')).toBe('agent/agent/task');
  });

  it('keeps what it can of a branch the plan names', () => {
    expect(sanitizeBranchName('feat/auth-login')).toBe('feat/auth-login');
    expect(sanitizeBranchName('feat/../../x')).toBe('feat/x');
    expect(sanitizeBranchName('-rf --force')).toBe('rf-force');
    expect(sanitizeBranchName('a.lock/b.lock')).toBe('a/b');
    expect(sanitizeBranchName('$(rm -rf ~)')).toBe('rm-rf');
    expect(sanitizeBranchName('HEAD')).toBeNull();
    expect(sanitizeBranchName('/// ..')).toBeNull();
    expect(sanitizeBranchName('refs/heads/main')).toBe('main');
    expect(sanitizeBranchName('refs/tags/v2')).toBe('tags/v2');
    expect(sanitizeBranchName('refs')).toBeNull();
  });

  it('never picks a name git already reads as a tag, a branch or a commit', async () => {
    await repo.git(['tag', 'v2']);
    await repo.git(['tag', 'v2-2']);
    const head = await repo.git(['rev-parse', 'HEAD']);
    const taken = new Set<string>();
    expect(await freeBranchName(repo.dir, 'v2', taken)).toBe('v2-3');
    expect(await freeBranchName(repo.dir, 'main', taken)).toBe('main-2');
    expect(await freeBranchName(repo.dir, head.slice(0, 10), taken)).toBe(`${head.slice(0, 10)}-2`);
    expect(await freeBranchName(repo.dir, 'feature', taken)).toBe('feature');
    expect(await freeBranchName(repo.dir, 'feature', taken)).toBe('feature-2');
  });

  it('always yields a name git accepts, whatever the text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 220 }),
        fc.string({ maxLength: 40 }),
        async (text, agent) => {
          const generated = defaultBranchName(agent, text.slice(0, 10), text);
          expect(await isValidBranchName(repo.dir, generated)).toBe(true);
          const kept = sanitizeBranchName(text);
          if (kept !== null) expect(await isValidBranchName(repo.dir, kept)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects what git rejects', async () => {
    expect(await isValidBranchName(repo.dir, 'a..b')).toBe(false);
    expect(await isValidBranchName(repo.dir, '-x')).toBe(false);
    expect(await isValidBranchName(repo.dir, 'ok/name')).toBe(true);
  });

  it('makes names unique, including directory/file clashes', () => {
    const taken = new Set(['agent/a/x', 'feat']);
    expect(uniqueName('agent/a/x', taken)).toBe('agent/a/x-2');
    expect(uniqueName('agent/a/x', taken)).toBe('agent/a/x-3');
    expect(uniqueName('feat/login', taken)).toBe('feat-login');
    expect(uniqueName('agent/a', taken)).toBe('agent/a-2');
  });

  it('takes names that differ only in case for one (one ref on macOS and Windows)', () => {
    // Two tasks whose Branch cells say Feature/Login and feature/login, beside a user's FEAT.
    const taken = new Set(['FEAT', 'main']);
    expect(uniqueName('Feature/Login', taken)).toBe('Feature/Login');
    expect(uniqueName('feature/login', taken)).toBe('feature/login-2');
    expect(uniqueName('feat', taken)).toBe('feat-2');
    expect(uniqueName('Feat/x', taken)).toBe('Feat-x');
    expect(uniqueName('FEATURE', taken)).toBe('FEATURE-2');
    expect(uniqueName('Main', taken)).toBe('Main-2');
  });
});

describe('names git already reads as something', () => {
  it('answers for many names in one call exactly as one rev-parse --verify per name does', async () => {
    await repo.git(['branch', 'batch/x']);
    await repo.git(['tag', 'b-v2']);
    await repo.git(['tag', '-a', '-m', 'annotated', 'b-v3']);
    await repo.git(['update-ref', 'refs/remotes/upstream/main', 'HEAD']);
    const head = await repo.git(['rev-parse', 'HEAD']);
    const names = [
      'batch/x',
      'b-v2',
      'b-v3',
      'upstream/main',
      'HEAD',
      head.slice(0, 8),
      'agent/builder-1/1-free',
      'missing',
      'batch',
      'x missing',
    ];
    const batch = await namesInUse(repo.dir, names);
    for (const name of names.filter((n) => !n.includes(' '))) {
      expect(batch.get(name), name).toBe(await nameInUse(repo.dir, name));
    }
    expect([...batch].filter(([, used]) => used).map(([name]) => name)).toEqual([
      'batch/x',
      'b-v2',
      'b-v3',
      'upstream/main',
      'HEAD',
      head.slice(0, 8),
    ]);
    // Not a branch name git could have: left to the one-by-one check.
    expect(batch.has('x missing')).toBe(false);
  });
});
