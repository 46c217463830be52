import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../cli-run/helpers.js';
import { DEMO_ENV, type RunDocument } from './helpers.js';

const BIN = resolve(import.meta.dirname, '../../src/cli/bin.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let box: string;
beforeEach(async () => {
  box = await realpath(await mkdtemp(join(tmpdir(), 'pe-demo-test-')));
});
afterEach(async () => {
  await rm(box, { recursive: true, force: true });
});

type DemoDocument = RunDocument & {
  demo: { dir: string; kept: boolean; asDesigned: boolean; deviations: string[] };
};

describe('parallel-executor demo', () => {
  it('runs as a process: as designed, exit 0, JSON on stdout, and with --clean its temp folder removed', async () => {
    const child = spawn(process.execPath, ['--import', TSX, BIN, 'demo', '--json', '--clean'], {
      cwd: box,
      // The demo makes its sample repository under TMPDIR: here, so the test sees it go.
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: box, ...DEMO_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as DemoDocument;
    expect(doc.demo).toMatchObject({ kept: false, asDesigned: true, deviations: [] });
    expect(doc.demo.dir.startsWith(box)).toBe(true);
    expect(doc.status).toBe('failed');
    expect(doc.integration).toMatchObject({
      merged: ['1.1', '1.2', '1.3', '2.1', '2.2', '2.4'],
      conflicts: [],
      testRuns: 5,
    });
    expect(doc.tasks.find((t) => t.id === '2.3')?.validation?.status).toBe('FAILED');
    // Off a terminal, the dashboard is one line per event, on stderr.
    expect(stderr).toContain('Sample repository:');
    expect(stderr).toMatch(/2\.3 \(Validator-1\) failed — validation failed: tests/);
    expect(stderr).toMatch(
      /2\.2 \(Builder-2\) left out of the integration: merge conflict with task 2\.1/,
    );
    expect(stderr).toMatch(/2\.4 \(Builder-3\) repair attempt 1 \(tests\)/);
    expect(stderr).toMatch(/2\.2 \(Builder-2\) repaired \(conflict\) and merged/);
    expect(stderr).toMatch(/2\.3 \(Validator-1\) repair attempt 1 failed/);
    // (tsx keeps its cache there too; only the demo's own folder matters.)
    expect(doc.demo.dir).toMatch(/\/parallel-executor-demo-[^/]+$/);
    const left = (await readdir(box)).filter((name) => name.startsWith('parallel-executor-demo-'));
    expect(left).toEqual([]);
  });

  it('--dir keeps the sample repository and prints the report excerpt', async () => {
    const dir = join(box, 'sample');
    const result = await cli(['demo', '--dir', dir], box, DEMO_ENV);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('## Execution Summary');
    expect(result.stdout).toContain('## Integration Results');
    expect(result.stdout).toContain(
      '- 2.2: merged, repaired after a merge conflict with 2.1 in src/config.js in 1 attempt',
    );
    expect(result.stdout).toContain('- 2.4: merged, repaired after failing integration tests');
    expect(result.stdout).not.toContain('## Timeline');
    expect(result.stdout).toContain('The demo ran as designed');
    expect(result.stdout).toMatch(
      /Full report: .*\/sample\/\.parallel-executor\/executions\/exec_\d{8}_\d{6}\/report\.md/,
    );
    expect(await readdir(dir)).toContain('MULTI_AGENT_PLAN.md');
  });

  it('refuses a --dir that is not empty', async () => {
    await writeFile(join(box, 'something'), 'x');
    const result = await cli(['demo', '--dir', box], box);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not empty');
    expect(await readdir(box)).toEqual(['something']);
  });
});
