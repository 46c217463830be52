import type { RepairRecord } from '../integrate/schema.js';
import { mdText } from '../report/markdown.js';
import { attemptsText, repairCost } from '../report/repairs.js';
import type { ExecutionState } from '../state/schema.js';

/** `repair of 2.2 (conflict) — ✅ merged, 1 attempt, 2.7s`: one line per repair, after the tasks. */
export function repairRowTexts(state: ExecutionState): string[] {
  return (state.integration?.repairs ?? []).map(
    (repair) => `↻ repair of ${repair.taskId} (${repair.kind}) — ${verdict(repair)}`,
  );
}

/** The same rows for the Markdown dashboard table (Task, Agent, Status, Progress, Elapsed, Step). */
export function repairTableRows(state: ExecutionState): string[][] {
  return (state.integration?.repairs ?? []).map((repair) => [
    mdText(`${repair.taskId} repair (${repair.kind})`, 60),
    mdText(state.tasks[repair.taskId]?.agent ?? '', 40),
    repair.outcome === 'merged' ? '✅ merged' : '❌ not repaired',
    '',
    repairCost(repair),
    mdText(repair.reason ?? `${repair.attempts} attempt(s), branch ${repair.branch}`, 100),
  ]);
}

function verdict(repair: RepairRecord): string {
  const attempts = attemptsText(repair);
  const how = repair.outcome === 'merged' ? '✅ merged' : `❌ ${repair.reason ?? 'failed'}`;
  return `${how}, ${attempts}, ${repairCost(repair)}`;
}
