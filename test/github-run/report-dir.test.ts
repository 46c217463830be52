/**
 * `report.dir` is where reports are committed, so it must stay inside the repository. One rule,
 * applied when the config is read: the CLI, the Action and the App all refuse such a folder
 * before anything runs, naming the file and the line — none writes `../outside/<id>.md` (or
 * `abs/dir/<id>.md` for `/abs/dir`).
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRemote, runStep } from '../action/runner.js';
import { commentPayload, startHarness, type Harness } from '../app/support/app-harness.js';
import { cli } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { CONFIG_PATH } from '../../src/engine/config/schema.js';

const PLAN = '# Plan\n\n### Parallel Group 1: One\n\n- [ ] 1.1: Do it (Builder-1, 1h)\n';
const config = (dir: string) => `validation:\n  lint: false\nreport:\n  dir: ${dir}\n`;

describe.each([
  ['../outside', '"report.dir": ../outside is outside the repository'],
  ['/abs/dir', '"report.dir": /abs/dir is outside the repository (an absolute path)'],
])('report.dir: %s', (dir, message) => {
  let repo: TempRepo;
  let scratch: string;
  let h: Harness;
  const saved = { ...process.env };
  beforeEach(async () => {
    repo = await createTempRepo({
      files: { 'MULTI_AGENT_PLAN.md': PLAN, [CONFIG_PATH]: config(dir) },
    });
    scratch = await realpath(await mkdtemp(join(tmpdir(), 'pe-report-dir-')));
    Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
    h = await startHarness();
  });
  afterEach(async () => {
    h.gh.assertDone();
    await h.close();
    process.env = { ...saved };
    await repo.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the CLI refuses to run, at the line of report.dir', async () => {
    const result = await cli(['run', '--agent', 'command', '--agent-command', 'true'], repo.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${CONFIG_PATH}:4: ${message}`);
    expect(await repo.git(['branch', '--list', 'integration/*'])).toBe('');
  });

  it('the Action refuses to run, at the line of report.dir', async () => {
    const home = join(scratch, 'home');
    await mkdir(home);
    const remote = await createRemote(scratch, {
      'MULTI_AGENT_PLAN.md': PLAN,
      [CONFIG_PATH]: config(dir),
    });
    const step = await runStep({
      dir: scratch,
      home,
      remote,
      name: 'integrate',
      ref: remote.sha,
      inputs: {
        mode: 'integrate',
        'execution-id': 'pe-1-1',
        'bundle-dir': join(scratch, 'artifacts'),
        'result-dir': join(scratch, 'result'),
        'github-token': '',
      },
    });
    expect(step.runtime.failed).toContain(`${CONFIG_PATH}:4: ${message}`);
    expect(step.outputs).toEqual({});
  });

  it('the App answers the command with the file and line, and starts nothing', async () => {
    h.github.permissions.set('alice', 'write');
    h.github.setFile('main', CONFIG_PATH, config(dir));
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const reply = h.github.comments.at(-1)!.body;
    expect(reply).toContain(`\`${CONFIG_PATH}\` line 4 on \`main\``);
    expect(reply).toContain(message.replace(/^"report\.dir": /, ''));
    expect(h.github.dispatches).toHaveLength(0);
  });
});
