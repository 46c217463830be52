import { formatCost, formatCount, formatDuration } from '../format.js';
import type { RepairRecord } from '../integrate/schema.js';

const HOW: Record<RepairRecord['kind'], string> = {
  conflict: 'a merge conflict',
  tests: 'failing integration tests (blamed by bisect)',
  validation: 'its failed validation',
  interaction: 'an interaction risk',
};

/** `2.2: merged, repaired after a merge conflict in 1 attempt (12s, 3.1k tokens, $0.04)` */
export function repairLine(repair: RepairRecord): string {
  const attempts = attemptsText(repair);
  const withText = repair.with.length > 0 ? ` with ${repair.with.join(', ')}` : '';
  const files = repair.files.length > 0 ? ` in ${repair.files.join(', ')}` : '';
  const how = `${HOW[repair.kind]}${withText}${files}`;
  const verdict =
    repair.outcome === 'merged'
      ? `merged, repaired after ${how} in ${attempts}`
      : `not repaired after ${how} (${attempts}): ${repair.reason ?? 'failed'}`;
  return `${repair.taskId}: ${verdict} (${repairCost(repair)})`;
}

/** `2 attempts`, `2 attempts, 1 interrupted when the orchestrator stopped` */
export function attemptsText(repair: RepairRecord): string {
  const attempts = `${repair.attempts} attempt${repair.attempts === 1 ? '' : 's'}`;
  const cut = repair.interrupted ?? 0;
  return cut > 0 ? `${attempts}, ${cut} interrupted when the orchestrator stopped` : attempts;
}

/** Time, tokens and money the repair agents took, as far as they said. */
export function repairCost(repair: RepairRecord): string {
  const parts = [formatDuration(repair.durationMs)];
  if (repair.inputTokens !== null || repair.outputTokens !== null) {
    parts.push(`${formatCount((repair.inputTokens ?? 0) + (repair.outputTokens ?? 0))} tokens`);
  }
  if (repair.costUsd !== null) parts.push(formatCost(repair.costUsd));
  return parts.join(', ');
}
