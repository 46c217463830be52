/**
 * For the resume safety tests: a real orchestrator (`src/cli/bin.ts` under tsx) in a subprocess
 * that the test kills with SIGKILL at an awkward moment, agents that keep a ledger of what they
 * made, and the execution's state file read from the outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExecutionState } from '../../src/engine/state/schema.js';
export { waitFor } from '../support/wait.js';

const BIN = resolve(import.meta.dirname, '../../src/cli/bin.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * An agent that counts its runs in `$RUNS`, waits for `$GO` when its task id is in `$WAIT_FOR`,
 * then commits a file, leaves another uncommitted, and writes both to its ledger.
 */
export const LEDGER_AGENT = [
  'echo "$PE_TASK_ID" >> "$RUNS"',
  'case " $WAIT_FOR " in *" $PE_TASK_ID "*) while [ ! -e "$GO" ]; do sleep 0.1; done;; esac',
  'printf "work of %s\\n" "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"',
  'git add "out-$PE_TASK_ID.txt"',
  'git commit -q -m "work of $PE_TASK_ID"',
  'printf \'{"commit":"%s","task":"%s"}\\n\' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"',
  'printf "left by %s" "$PE_TASK_ID" > "left-$PE_TASK_ID.txt"',
  'printf \'{"uncommitted":"left-%s.txt","content":"left by %s","task":"%s"}\\n\' "$PE_TASK_ID" "$PE_TASK_ID" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"',
].join('; ');

export function spawnRun(
  cwd: string,
  env: Record<string, string | undefined>,
  args: string[],
): { child: ChildProcess; exited: Promise<unknown> } {
  return spawnCli(cwd, env, ['run', ...args]);
}

/** Any command of the CLI (`resume`, `clean`…) in a subprocess, to be killed. */
export function spawnCli(
  cwd: string,
  env: Record<string, string | undefined>,
  args: string[],
): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', TSX, BIN, ...args], {
    cwd,
    env,
    stdio: 'ignore',
  });
  return { child, exited: once(child, 'exit') };
}

/** SIGKILL: nothing of the orchestrator runs after this, its agents and commands are orphaned. */
export async function killHard(run: { child: ChildProcess; exited: Promise<unknown> }) {
  run.child.kill('SIGKILL');
  await run.exited;
}

export async function readStateFile(repoDir: string): Promise<ExecutionState | null> {
  const dir = join(repoDir, '.parallel-executor', 'executions');
  const [id] = await readdir(dir).catch(() => [] as string[]);
  if (id === undefined) return null;
  const text = await readFile(join(dir, id, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8').catch(
    () => null,
  );
  if (text === null) return null;
  try {
    return JSON.parse(text) as ExecutionState;
  } catch {
    return null;
  }
}

/** Lines of a file an agent or command appended to (empty when it does not exist yet). */
export async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}
