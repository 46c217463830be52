import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { Plan } from '../../src/engine/plan/schema.js';

/** Node arguments that run the CLI from source in a process of its own (then its own arguments). */
export const CLI_PROCESS = [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  resolve(import.meta.dirname, '../../src/cli/bin.ts'),
];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in process, with its own streams and environment. */
export async function cli(
  argv: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(argv, {
    cwd,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdout,
    stderr,
    signal,
  });
  return { code, stdout: out, stderr: err };
}

/** Write a parsed plan where `--plan plan.json` finds it; ignored by git so the tree stays clean. */
export async function writePlanJson(dir: string, plan: Plan, name = 'plan.json'): Promise<string> {
  await writeFile(join(dir, name), JSON.stringify(plan));
  return name;
}
