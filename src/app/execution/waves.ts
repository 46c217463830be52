/**
 * Waves: matrix legs cannot wait for each other, so one workflow run runs one wave — the tasks of
 * the selection whose dependencies are done — and the app dispatches the next wave when one lands
 * cleanly. The app picks each wave with the same rule as the workflow's plan job (`selectTasks`
 * with `WAVE_SELECTION`), against the same plan text, so the tasks it tracks are the tasks the
 * run's matrix holds.
 */
import { selectTasks, WAVE_SELECTION } from '../../engine/schedule/select.js';
import type { Plan } from '../../engine/plan/schema.js';
import type { ExecutionRecord, RecordedTask } from './record.js';

export interface WavePick {
  /** Ready to run now, in plan order. */
  ready: string[];
  /** Waiting for tasks that are not done, with those tasks. */
  waiting: Array<{ id: string; on: string[] }>;
  /** Already completed in the plan. */
  done: string[];
  /** Not in the plan (any more). */
  missing: string[];
}

export function pickWave(plan: Plan, ids: readonly string[]): WavePick {
  const known = new Set(plan.tasks.map((t) => t.id));
  const present = ids.filter((id) => known.has(id));
  const missing = ids.filter((id) => !known.has(id));
  if (present.length === 0) return { ready: [], waiting: [], done: [], missing };
  // The ids are named: they run whatever their status, but completed (see `selectTasks`).
  const wave = selectTasks(plan, { group: null, tasks: present }, WAVE_SELECTION);
  return {
    ready: wave.ready.map((t) => t.id),
    waiting: [
      ...wave.waiting.map((w) => ({ id: w.task.id, on: w.on })),
      ...wave.left.flatMap((l) => (l.waitsFor ? [{ id: l.task.id, on: l.waitsFor }] : [])),
    ],
    done: wave.left.filter((l) => l.task.status === 'completed').map((l) => l.task.id),
    missing,
  };
}

/** The ids the current wave runs (every task for a record written before waves). */
export function currentWave(record: ExecutionRecord): string[] {
  return record.waveTasks ?? record.tasks.map((t) => t.id);
}

/**
 * How many waves the selection needs: the longest chain of dependencies inside it (a wave that
 * had to wait longer than planned counts too).
 */
export function waveCount(record: ExecutionRecord): number {
  const byId = new Map(record.tasks.map((t) => [t.id, t]));
  const depth = new Map<string, number>();
  const levelOf = (task: RecordedTask, seen: Set<string>): number => {
    const known = depth.get(task.id);
    if (known !== undefined) return known;
    // The plan validator rejects cycles; `seen` only guards against a hand-edited record.
    seen.add(task.id);
    let level = 1;
    for (const dep of task.dependsOn) {
      const other = byId.get(dep);
      if (other && !seen.has(dep)) level = Math.max(level, levelOf(other, seen) + 1);
    }
    depth.set(task.id, level);
    return level;
  };
  const deepest = Math.max(0, ...record.tasks.map((t) => levelOf(t, new Set())));
  return Math.max(record.wave, deepest);
}

/** `Wave 2 of 3`, or null for an execution that fits in one wave. */
export function waveLabel(record: ExecutionRecord): string | null {
  const total = waveCount(record);
  return total > 1 ? `Wave ${record.wave} of ${total}` : null;
}

/**
 * The correlation id a wave's run shows in its name. Wave 1 uses the execution id itself; later
 * waves add `-w<n>`, so a search for the new run cannot find an earlier wave's run (same
 * execution id, maybe minutes old) — and every wave's name still contains the execution id.
 */
export function waveCorrelationId(record: ExecutionRecord): string {
  return record.wave === 1 ? record.execution : `${record.execution}-w${record.wave}`;
}
