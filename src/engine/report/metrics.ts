import type { ExecutionState, TaskRun } from '../state/schema.js';
import { activeMs } from '../format.js';
import { orderedTasks, taskDurationMs } from './outcome.js';
import { totalUsage, usageReporters, type Usage } from './usage.js';

const HOUR_MS = 3_600_000;

export interface LineTotals {
  added: number;
  removed: number;
  /** Distinct paths across the tasks counted (two tasks touching one file count it once). */
  files: number;
  /** How many tasks these totals cover. */
  tasks: number;
}

export interface ParallelEfficiency {
  /** Time from the execution's start to its end (or to `now` while it runs). */
  wallMs: number | null;
  /** Sum of the plan's estimates for the tasks that ran; null when none of them had one. */
  sequentialEstimateMs: number | null;
  /** Tasks that ran and carried an estimate / that ran without one. */
  estimatedTasks: string[];
  unestimatedTasks: string[];
  /** sequentialEstimateMs ÷ wallMs: how many times faster than the plan's sequential estimate. */
  estimateSpeedup: number | null;
  /** 1 − wall ÷ estimate, the seed's "parallel efficiency (vs sequential estimate)". */
  savedVsEstimate: number | null;
  /** Sum of the measured task durations: the same work done one task after the other. */
  sumTaskMs: number | null;
  /** sumTaskMs ÷ wallMs: how many tasks ran at once on average (the real parallel speed-up). */
  parallelSpeedup: number | null;
}

export interface ExecutionMetrics {
  lines: LineTotals;
  /** The part of `lines` that was merged into the integration branch; null without integration. */
  mergedLines: LineTotals | null;
  /** Tokens and cost summed over the tasks that reported them (`tasks` says how many). */
  usage: { total: Usage; tasks: number } | null;
  efficiency: ParallelEfficiency;
}

/** Totals and parallel efficiency of an execution. Pure: `now` stands in for a missing end. */
export function computeMetrics(state: ExecutionState, now?: Date): ExecutionMetrics {
  const tasks = orderedTasks(state);
  const merged = state.integration?.merged ?? null;
  return {
    lines: lineTotals(tasks),
    mergedLines:
      merged === null ? null : lineTotals(tasks.filter((t) => merged.includes(t.task_id))),
    usage: usageTotals(tasks),
    efficiency: parallelEfficiency(state, tasks, now),
  };
}

function lineTotals(tasks: TaskRun[]): LineTotals {
  const files = new Set<string>();
  let added = 0;
  let removed = 0;
  let counted = 0;
  for (const task of tasks) {
    if (task.metrics === null) continue;
    counted += 1;
    added += task.metrics.lines_added;
    removed += task.metrics.lines_removed;
    for (const file of task.metrics.files_changed) files.add(file);
  }
  return { added, removed, files: files.size, tasks: counted };
}

function usageTotals(tasks: readonly TaskRun[]): ExecutionMetrics['usage'] {
  const total = totalUsage(tasks);
  return total === null ? null : { total, tasks: usageReporters(tasks) };
}

function parallelEfficiency(
  state: ExecutionState,
  tasks: TaskRun[],
  now: Date | undefined,
): ParallelEfficiency {
  const wallMs = activeMs(state.started_at, state.finished_at ?? now ?? null, state.stopped_ms);
  // Only tasks that ran: an estimate for work that never started says nothing about speed.
  const ran = tasks.filter((task) => task.started_at !== null);
  const estimated = ran.filter((task) => task.estimate_hours !== null);
  const sequentialEstimateMs =
    estimated.length === 0
      ? null
      : estimated.reduce((sum, task) => sum + (task.estimate_hours ?? 0) * HOUR_MS, 0);
  const durations = ran.flatMap((task) => {
    const ms = taskDurationMs(task, now);
    return ms === null ? [] : [ms];
  });
  const sumTaskMs = durations.length === 0 ? null : durations.reduce((a, b) => a + b, 0);
  const usableWall = wallMs !== null && wallMs > 0 ? wallMs : null;
  return {
    wallMs,
    sequentialEstimateMs,
    estimatedTasks: estimated.map((task) => task.task_id),
    unestimatedTasks: ran.filter((t) => t.estimate_hours === null).map((t) => t.task_id),
    estimateSpeedup: ratio(sequentialEstimateMs, usableWall),
    savedVsEstimate:
      sequentialEstimateMs === null || usableWall === null || sequentialEstimateMs === 0
        ? null
        : 1 - usableWall / sequentialEstimateMs,
    sumTaskMs,
    parallelSpeedup: ratio(sumTaskMs, usableWall),
  };
}

function ratio(numerator: number | null, denominator: number | null): number | null {
  if (numerator === null || denominator === null || denominator === 0) return null;
  return numerator / denominator;
}
