import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import type { ExecutionEvent } from '../../src/engine/monitor/events.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import type { Plan, Task } from '../../src/engine/plan/schema.js';
import { runExecution, type RunOptions } from '../../src/engine/run/orchestrator.js';
import type { ExecutionSettings } from '../../src/engine/run/settings.js';

/** A plan task with defaults for everything a test does not care about. */
export function task(id: string, fields: Partial<Task> = {}): Task {
  return {
    id,
    idGenerated: false,
    title: `Task ${id}`,
    agents: [`Builder-${id}`],
    group: '1',
    dependsOn: [],
    estimateHours: 1,
    status: 'pending',
    priority: null,
    branch: null,
    worktree: null,
    files: [],
    criteria: [],
    details: '',
    dialect: 'seed',
    line: 1,
    column: 1,
    ...fields,
  };
}

export function plan(tasks: Task[], title = 'Test plan'): Plan {
  const groups = [...new Set(tasks.map((t) => t.group).filter((g): g is string => g !== null))];
  return {
    title,
    groups: groups.map((id, i) => ({
      id,
      title: `Group ${id}`,
      dependsOn: [],
      dependenciesText: null,
      durationText: null,
      status: 'pending',
      line: i + 1,
    })),
    tasks,
  };
}

/** Settings that keep tests fast: short grace, quick message polling. */
export const FAST: Partial<ExecutionSettings> = {
  graceMs: 300,
  taskTimeoutMs: 30_000,
  idleTimeoutMs: 20_000,
  minFreeDiskMb: 0,
  messagePollMs: 100,
};

export interface Scratch {
  dir: string;
  file(name: string): string;
  read(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** A folder outside the repository where agents leave evidence (timestamps, pids, counters). */
export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'pe-scratch-'));
  return {
    dir,
    file: (name) => join(dir, name),
    read: (name) => readFile(join(dir, name), 'utf8').catch(() => ''),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function agentEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    ...extra,
  };
}

export interface Recorded {
  state: ExecutionState;
  events: ExecutionEvent[];
  stateFile: string;
  executionDir: string;
}

/** Run a plan in a repo with the real command runner; events are recorded. */
export async function runPlan(
  cwd: string,
  thePlan: Plan,
  command: string,
  options: Partial<RunOptions> & { env?: Record<string, string> } = {},
): Promise<Recorded> {
  const events: ExecutionEvent[] = [];
  const result = await runExecution({
    cwd,
    plan: thePlan,
    planFile: join(cwd, 'MULTI_AGENT_PLAN.md'),
    group: 'all',
    runner: createCommandRunner({ command, graceMs: 300 }),
    env: agentEnv(),
    ...options,
    settings: { ...FAST, ...options.settings },
    onEvent: (event, state) => {
      events.push(event);
      options.onEvent?.(event, state);
    },
  });
  return {
    state: result.state,
    events,
    stateFile: result.stateFile,
    executionDir: result.executionDir,
  };
}

/** Intervals `[start, end]` per task from lines `<id> start|end <ns>` an agent appended. */
export function intervals(text: string): Map<string, { start: number; end: number }> {
  const map = new Map<string, { start: number; end: number }>();
  for (const line of text.split('\n')) {
    const [id, kind, ns] = line.trim().split(' ');
    if (!id || !kind || !ns) continue;
    const entry = map.get(id) ?? { start: NaN, end: NaN };
    entry[kind as 'start' | 'end'] = Number(BigInt(ns) / 1000000n);
    map.set(id, entry);
  }
  return map;
}

export function overlaps(a: { start: number; end: number }, b: { start: number; end: number }) {
  return a.start < b.end && b.start < a.end;
}

/** An agent that records its interval in $TIMES, optionally writing a file first. */
export const TIMED_AGENT =
  'echo "$PE_TASK_ID start $(date +%s%N)" >> "$TIMES"; sleep "${NAP:-0.5}"; ' +
  'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"; echo "$PE_TASK_ID end $(date +%s%N)" >> "$TIMES"';
