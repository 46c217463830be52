import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { Plan } from '../../src/engine/plan/schema.js';
import { initialState } from '../../src/engine/run/layout.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';

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

/** A fresh execution state for `thePlan` (all tasks selected, fixed paths and ids), for views. */
export function planState(thePlan: Plan): ExecutionState {
  return initialState({
    executionId: 'exec_20250101_120000',
    plan: thePlan,
    planFile: 'MULTI_AGENT_PLAN.md',
    selection: { group: 'all', tasks: thePlan.tasks },
    layouts: thePlan.tasks.map((t) => ({
      taskId: t.id,
      branch: `agent/x/${t.id}`,
      worktree: `/w/${t.id}`,
      fileKey: t.id,
      port: 41000,
    })),
    repoRoot: '/repo',
    baseRef: 'main',
    baseSha: 'a'.repeat(40),
    now: new Date(),
    orchestratorPid: 1,
  });
}
