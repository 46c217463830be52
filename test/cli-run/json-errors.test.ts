import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, task } from '../engine/helpers.js';
import { cli, writePlanJson } from './helpers.js';

let repo: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  await writePlanJson(repo.dir, plan([task('1.1')]));
});

afterEach(async () => {
  await repo.cleanup();
});

const AGENT = ['--agent-command', 'true'];

/** The one JSON document stdout holds. */
function document(stdout: string): unknown {
  return JSON.parse(stdout) as unknown;
}

describe('--json when nothing could run', () => {
  it('prints the pre-flight failure as a JSON document', async () => {
    await repo.write('README.md', 'changed\n');
    const result = await cli(['run', '--plan', 'plan.json', ...AGENT, '--json'], repo.dir);
    expect(result.code).toBe(1);
    expect(document(result.stdout)).toEqual({
      error: {
        message: expect.stringContaining('pre-flight checks failed: working tree') as unknown,
        hint: expect.stringMatching(/^Commit or stash/) as unknown,
        kind: 'preflight',
      },
    });
    // The human words are still on stderr.
    expect(result.stderr).toContain('parallel-executor: pre-flight checks failed');
  });

  it('prints a plan or usage error as a JSON document', async () => {
    const missing = await cli(['run', '--plan', 'missing.json', ...AGENT, '--json'], repo.dir);
    expect(missing.code).toBe(2);
    expect(document(missing.stdout)).toMatchObject({ error: { kind: 'usage' } });

    const badFlag = await cli(['run', '--frobnicate', '--json'], repo.dir);
    expect(badFlag.code).toBe(2);
    expect(document(badFlag.stdout)).toMatchObject({
      error: { kind: 'usage', hint: expect.stringContaining('--help') as unknown },
    });
  });

  it('does so for resume and status too', async () => {
    const resume = await cli(['resume', '--json', ...AGENT], repo.dir);
    expect(resume.code).not.toBe(0);
    expect(document(resume.stdout)).toMatchObject({
      error: { message: expect.any(String) as unknown },
    });
    const status = await cli(['status', '--json'], repo.dir);
    expect(status.code).not.toBe(0);
    expect(document(status.stdout)).toMatchObject({
      error: { message: expect.any(String) as unknown },
    });
  });

  it('leaves stdout alone without --json', async () => {
    const result = await cli(['run', '--plan', 'missing.json', ...AGENT], repo.dir);
    expect(result.stdout).toBe('');
  });
});
