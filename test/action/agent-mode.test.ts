/**
 * Agent mode on its own runner: the engine's limits apply (an agent silent past the idle limit is
 * stopped and the leg fails with its bundle written), and a task whose dependencies are not done
 * in the checked-out plan does not start.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFile } from '../../src/action/task-file.js';
import { CONFIG, planText, repositoryFiles, writeAgent } from './e2e-fixture.js';
import { useLegDirs } from './leg-fixture.js';
import { createRemote } from './runner.js';

describe('agent mode', () => {
  const legs = useLegDirs('pe-agent-mode-');

  it('stops an agent that goes silent past the idle limit, fails the leg and still writes the bundle', async () => {
    const files = await repositoryFiles(planText('Add feature A', ['1.2']));
    files['.github/parallel-executor.yml'] = `${CONFIG}timeouts:\n  idle: 1s\n  grace: 1s\n`;
    const remote = await createRemote(legs.dir, files);
    const agent = await writeAgent(legs.dir, {
      '1.2': { files: { 'wip.txt': 'started\n' }, print: ['working on it'], sleepMs: 30_000 },
    });
    const bundle = join(legs.dir, 'bundle');
    const started = Date.now();
    const leg = await legs.runLeg({
      remote,
      inputs: {
        task: '1.2',
        agent: 'command',
        'agent-command': agent.command,
        'bundle-dir': bundle,
      },
      env: agent.env,
    });
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(leg.outputs.status).toBe('failed');
    expect(leg.runtime.failed).toMatch(
      /task 1.2 failed: hung: no output and no status change for 1s/,
    );
    const task = TaskFile.parse(JSON.parse(await readFile(join(bundle, 'task.json'), 'utf8')));
    expect(task).toMatchObject({ status: 'failed', attempts: 1, bundle: 'branch.bundle' });
    expect(await readFile(join(bundle, 'files_changed.txt'), 'utf8')).toBe('wip.txt\n');
    expect(await readFile(join(bundle, 'agent.log'), 'utf8')).toContain('working on it');
    expect(leg.summary).toContain('task 1.2 — failed');
  });

  it('fails a claude-code leg that has no API key before starting anything, with the fix in the reason', async () => {
    const remote = await createRemote(
      legs.dir,
      await repositoryFiles(planText('Add feature A', [])),
    );
    const bundle = join(legs.dir, 'bundle');
    // A `claude` that must never run: the leg stops at the missing key.
    const bin = join(legs.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'claude'), '#!/bin/sh\ntouch "$0.ran"\n', { mode: 0o755 });
    const leg = await legs.runLeg({
      remote,
      inputs: { task: '1.1', 'bundle-dir': bundle },
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    expect(leg.outputs.status).toBe('failed');
    expect(leg.runtime.failed).toMatch(
      /Claude Code has no credentials[\s\S]*Set ANTHROPIC_API_KEY/,
    );
    const task = TaskFile.parse(JSON.parse(await readFile(join(bundle, 'task.json'), 'utf8')));
    expect(task).toMatchObject({
      status: 'failed',
      bundle: null,
      head_sha: remote.sha,
      attempts: 0,
    });
    await expect(readFile(join(bin, 'claude.ran'))).rejects.toThrow();
  });

  it('does not start a task whose dependencies are not done in the checked-out plan', async () => {
    const remote = await createRemote(
      legs.dir,
      await repositoryFiles(planText('Add feature A', [])),
    );
    const agent = await writeAgent(legs.dir, { '2.1': { files: { 'never.txt': 'x\n' } } });
    const leg = await legs.runLeg({
      remote,
      inputs: {
        task: '2.1',
        agent: 'command',
        'agent-command': agent.command,
        'bundle-dir': join(legs.dir, 'bundle'),
      },
      env: agent.env,
    });
    expect(leg.outputs.status).toBe('blocked');
    expect(leg.runtime.failed).toMatch(/task 2.1 waits for 1.1, not done in the checked-out plan/);
    expect(await remote.git(['for-each-ref', '--format=%(refname)', 'refs/heads'])).toBe(
      'refs/heads/main',
    );
  });
});
