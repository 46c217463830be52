import { spawn, type ChildProcess } from 'node:child_process';
import { childLineSource, holdOpen, lineSplitter } from '../child-lines.js';

/**
 * Git processes started by a small helper process instead of the orchestrator itself. Starting a
 * process from Node forks the whole process first: the orchestrator's page tables are copied, so
 * each start costs its main thread about 0.05 ms per MB it holds (3–8 ms at 60–150 MB, measured
 * here), during which no agent output is read and no other task moves. A run starts hundreds of
 * git processes, most of them while other tasks wait for theirs. The helper is a bare Node
 * (about 40 MB, well under a millisecond a fork) that does the starting, concurrently, and sends
 * back each one's exit code and output; the orchestrator only writes a line and reads one.
 *
 * Only git goes through it: short commands whose output is read whole. Agents, setup and check
 * commands are started directly (their process groups, signals and live output are the
 * orchestrator's to handle).
 */

export interface HelperRequest {
  cwd: string;
  args: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  input: string | undefined;
}

export interface HelperResult {
  /** null: killed by a signal. */
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** A start the helper could not make (`spawn` failed): its errno code and message. */
export class HelperSpawnError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The helper's program. Each request is one JSON line; each answer one JSON line with the output
 * in base64 (git's output need not be UTF-8). Exits when the orchestrator closes its stdin (or
 * dies: the pipe closes then too).
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
${childLineSource('run')}
function answer(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
function run(request) {
  let child;
  try {
    child = spawn('git', request.args, { cwd: request.cwd, env: request.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    answer({ id: request.id, error: { code: error.code, message: String(error) } });
    return;
  }
  const out = [];
  const err = [];
  let done = false;
  child.stdout.on('data', (chunk) => out.push(chunk));
  child.stderr.on('data', (chunk) => err.push(chunk));
  child.on('error', (error) => {
    if (done) return;
    done = true;
    answer({ id: request.id, error: { code: error.code, message: String(error) } });
  });
  child.on('close', (code) => {
    if (done) return;
    done = true;
    answer({ id: request.id, code, stdout: Buffer.concat(out).toString('base64'), stderr: Buffer.concat(err).toString('base64') });
  });
  child.stdin.on('error', () => {});
  child.stdin.end(request.input === null ? undefined : request.input);
}
`;

interface Waiting {
  resolve(result: HelperResult): void;
  reject(error: Error): void;
}

interface Answer {
  id: number;
  code?: number | null;
  stdout?: string;
  stderr?: string;
  error?: { code?: string; message: string };
}

class GitHelper {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private readonly read = lineSplitter((line) => this.answer(JSON.parse(line) as Answer));
  dead = false;

  get pid(): number | undefined {
    return this.child.pid;
  }

  constructor() {
    this.child = spawn(process.execPath, ['-e', HELPER_SOURCE], {
      stdio: ['pipe', 'pipe', 'inherit'],
      // Not the orchestrator's options (a loader, an inspector): a bare Node.
      // Each request carries git's environment; this is only the helper's own.
      // eslint-disable-next-line no-restricted-properties
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => {
      try {
        this.read(text);
      } catch (error) {
        // An answer too large for one string (hundreds of MB of output): what is under way fails,
        // and the next command gets a new helper.
        this.fail(`an answer could not be read: ${String(error)}`);
        this.child.kill('SIGKILL');
      }
    });
    this.child.stdin!.on('error', () => this.fail('its input closed'));
    this.child.on('error', (error) => this.fail(String(error)));
    this.child.on('exit', (code, signal) => {
      this.fail(signal === null ? `it exited with ${code}` : `it was killed (${signal})`);
    });
    this.idle();
  }

  run(request: HelperRequest): Promise<HelperResult> {
    const id = this.nextId++;
    const line = `${JSON.stringify({ id, ...request, input: request.input ?? null })}\n`;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.busy();
      this.child.stdin!.write(line);
    });
  }

  /** One answer line (a long one, megabytes of output, came in many pieces). */
  private answer(answer: Answer): void {
    const waiting = this.waiting.get(answer.id);
    if (waiting === undefined) return;
    this.waiting.delete(answer.id);
    if (answer.error !== undefined) {
      waiting.reject(new HelperSpawnError(answer.error.code, answer.error.message));
    } else {
      waiting.resolve({
        code: answer.code ?? null,
        stdout: Buffer.from(answer.stdout ?? '', 'base64'),
        stderr: Buffer.from(answer.stderr ?? '', 'base64'),
      });
    }
    if (this.waiting.size === 0) this.idle();
  }

  /** Keeps the orchestrator alive only while a git command is under way. */
  private busy(): void {
    holdOpen(this.child, true);
  }

  private idle(): void {
    holdOpen(this.child, false);
  }

  /**
   * The helper is gone (killed by something, or out of memory): what was under way is reported
   * as failed, never started again, since a git command may have done its work before the
   * answer was lost.
   */
  private fail(why: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const waiting of this.waiting.values()) {
      waiting.reject(
        new Error(`the process that starts git for parallel-executor stopped: ${why}`),
      );
    }
    this.waiting.clear();
  }
}

let helper: GitHelper | null = null;

/** The helper's pid while it runs (benchmarks add its CPU to the orchestrator's). */
export function gitHelperPid(): number | null {
  return helper === null || helper.dead ? null : (helper.pid ?? null);
}

/** Run one git command through the helper, started on first use and again after it stopped. */
export function runThroughHelper(request: HelperRequest): Promise<HelperResult> {
  if (helper === null || helper.dead) helper = new GitHelper();
  return helper.run(request);
}
