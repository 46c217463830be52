import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalForge } from '../../src/forge/local.js';
import { initRepo, run, tempDir } from '../support/git-repo.js';

describe('local forge', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('local-forge');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('upserts a marked comment into one Markdown file and finds it again', async () => {
    const forge = createLocalForge({ dir: dir.path });
    const first = await forge.upsertComment(7, 'report', 'first');
    const second = await forge.upsertComment(7, 'report', 'second');
    expect(second.id).toBe(first.id);
    const file = fileURLToPath(second.url);
    expect(file).toBe(join(dir.path, 'comments', 'issue-7', 'report.md'));
    expect(await readFile(file, 'utf8')).toBe('<!-- parallel-executor:report -->\nsecond');
    expect((await forge.findComment(7, 'report'))?.id).toBe(first.id);
    expect(await forge.findComment(8, 'report')).toBeNull();
  });

  it('keeps a check run with its history and counts annotations', async () => {
    const forge = createLocalForge({ dir: dir.path });
    const { id } = await forge.createCheckRun({
      name: 'Task 1.1: API',
      headSha: 'abc',
      status: 'queued',
      externalId: 'e1',
    });
    await forge.updateCheckRun(id, {
      conclusion: 'failure',
      output: {
        title: 'failed',
        summary: 's',
        annotations: Array.from({ length: 60 }, (_, i) => ({
          path: 'p',
          start_line: i + 1,
          end_line: i + 1,
          annotation_level: 'failure' as const,
          message: 'm',
        })),
      },
    });
    const runs = await forge.listCheckRuns('abc');
    expect(runs).toEqual([
      expect.objectContaining({ id, status: 'completed', conclusion: 'failure', externalId: 'e1' }),
    ]);
    const saved = JSON.parse(
      await readFile(join(dir.path, 'check-runs', `${id}-Task-1.1-API.json`), 'utf8'),
    ) as {
      annotations: number;
      history: unknown[];
    };
    expect(saved.annotations).toBe(60);
    expect(saved.history).toHaveLength(2);
  });

  it('opens a pull request once and updates it after', async () => {
    const forge = createLocalForge({ dir: dir.path, owner: 'o', repo: 'r' });
    const a = await forge.upsertPullRequest({
      head: 'pe/int',
      base: 'main',
      title: 'One',
      body: 'b1',
    });
    const b = await forge.upsertPullRequest({
      head: 'pe/int',
      base: 'main',
      title: 'Two',
      body: 'b2',
    });
    expect(b.number).toBe(a.number);
    expect(await readFile(fileURLToPath(b.url), 'utf8')).toBe('# Two\n\npe/int → main\n\nb2');
    expect(await forge.findOpenPullRequest('pe/int')).toMatchObject({
      number: a.number,
      title: 'Two',
      fromFork: false,
    });
  });

  it('records dispatches, and survives a new forge instance over the same folder', async () => {
    await createLocalForge({ dir: dir.path }).dispatchWorkflow('w.yml', 'main', {
      'execution-id': 'e1',
    });
    const again = createLocalForge({ dir: dir.path });
    const second = await again.dispatchWorkflow('w.yml', 'main', { 'execution-id': 'e2' });
    const state = JSON.parse(await readFile(join(dir.path, 'forge-state.json'), 'utf8')) as {
      dispatches: unknown[];
    };
    expect(state.dispatches).toHaveLength(2);
    expect(second.runId).toBe(2);
  });

  it('reads files from a real git repository at a ref', async () => {
    const repo = await tempDir('local-forge-repo');
    try {
      await initRepo(repo.path);
      await writeFile(join(repo.path, 'PLAN.md'), '# v1\n');
      await run(repo.path, ['add', '.']);
      await run(repo.path, ['commit', '-qm', 'v1']);
      await writeFile(join(repo.path, 'PLAN.md'), '# v2\n');
      await run(repo.path, ['commit', '-qam', 'v2']);
      const forge = createLocalForge({ dir: dir.path, repoDir: repo.path });
      expect((await forge.getFile('PLAN.md'))?.content).toBe('# v2\n');
      expect((await forge.getFile('PLAN.md', 'HEAD~1'))?.content).toBe('# v1\n');
      expect(await forge.getFile('missing.md')).toBeNull();
      await expect(forge.getFile('PLAN.md', '--output=/tmp/x')).rejects.toThrow(
        /invalid ref "--output/,
      );
    } finally {
      await repo.remove();
    }
  });

  it('writes files with a sha check and refuses paths that climb out', async () => {
    const forge = createLocalForge({ dir: dir.path });
    const first = await forge.createOrUpdateFile({
      path: 'docs/p.md',
      branch: 'feat/x',
      content: 'a',
      message: 'm',
    });
    expect(first.contentSha).toBe('2e65efe2a145dda7ee51d1741299f848e5bf752e'); // git hash-object of "a"
    await expect(
      forge.createOrUpdateFile({
        path: 'docs/p.md',
        branch: 'feat/x',
        content: 'b',
        message: 'm',
        sha: 'stale',
      }),
    ).rejects.toThrow(/changed/);
    await forge.createOrUpdateFile({
      path: 'docs/p.md',
      branch: 'feat/x',
      content: 'b',
      message: 'm',
      sha: first.contentSha,
    });
    expect((await forge.getFile('docs/p.md', 'feat/x'))?.content).toBe('b');
    await expect(
      forge.createOrUpdateFile({
        path: '../../escape.md',
        branch: 'main',
        content: 'x',
        message: 'm',
      }),
    ).rejects.toThrow(/outside/);
  });
});
