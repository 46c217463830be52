import type { IntegrationResult, RepairKind } from '../integrate/schema.js';
import type { ExecutionState } from '../state/schema.js';

/** A task to hand back to an agent, and what went wrong with it. */
export interface RepairTarget {
  taskId: string;
  kind: RepairKind;
  /** The words the integration or the validation gave. */
  reason: string;
  /** The other tasks involved: those it collided with, or those merged before it. */
  others: string[];
  /** The conflicting files (conflict), the files of the risk (interaction), empty otherwise. */
  files: string[];
  /** The definitions the interaction risk is about (interaction only). */
  symbols?: string[];
  /** Output files to show the agent: the failing integration test run, the failed checks. */
  outputs: string[];
}

/**
 * Which tasks a repair can take, of the kinds asked for: a conflict, a branch batch-and-bisect
 * blamed, a failed validation, an interaction risk between two merged tasks. A task dropped only because a dependency was dropped, or whose
 * branch is missing, is not one: there is nothing an agent could mend on its own branch.
 */
export function repairTargets(
  state: ExecutionState,
  integration: IntegrationResult,
  on: readonly RepairKind[],
): RepairTarget[] {
  const wanted = new Set(on);
  const merged = new Set(integration.merged);
  const targets: RepairTarget[] = [];
  for (const id of state.task_order) {
    if (merged.has(id)) continue;
    const run = state.tasks[id]!;
    const conflict = integration.conflicts.find((entry) => entry.taskId === id);
    const dropped = integration.dropped.find((entry) => entry.taskId === id);
    if (conflict !== undefined && wanted.has('conflict')) {
      targets.push({
        taskId: id,
        kind: 'conflict',
        reason: dropped?.reason ?? `merge conflict in ${conflict.files.join(', ')}`,
        others: conflict.with,
        files: conflict.files,
        outputs: [],
      });
    } else if (dropped?.testOutput !== undefined && wanted.has('tests')) {
      targets.push({
        taskId: id,
        kind: 'tests',
        reason: dropped.reason,
        others: integration.merged,
        files: [],
        outputs: [dropped.testOutput],
      });
    } else if (
      run.status === 'failed' &&
      run.validation?.status === 'FAILED' &&
      wanted.has('validation')
    ) {
      const failed = run.validation.checks.filter((c) => !c.passed && !c.skipped && c.critical);
      targets.push({
        taskId: id,
        kind: 'validation',
        reason: run.reason ?? 'validation failed',
        others: [],
        files: [],
        outputs: failed.flatMap((check) => (check.outputFile === null ? [] : [check.outputFile])),
      });
    }
  }
  if (wanted.has('interaction')) targets.push(...interactionTargets(integration));
  return targets;
}

/**
 * One target per task that is the later-merged of a risky pair whose tasks both merged: its
 * repair starts where both are in and is asked for a test of the combination and a fix. A task
 * later in several pairs gets one target naming every partner.
 */
export function interactionTargets(integration: IntegrationResult): RepairTarget[] {
  const order = integration.merged;
  const byTask = new Map<string, RepairTarget>();
  for (const risk of integration.risks ?? []) {
    const [a, b] = risk.tasks;
    if (!order.includes(a) || !order.includes(b)) continue;
    const [earlier, later] = order.indexOf(a) < order.indexOf(b) ? [a, b] : [b, a];
    const target = byTask.get(later) ?? {
      taskId: later,
      kind: 'interaction' as const,
      reason: '',
      others: [],
      files: [],
      symbols: [],
      outputs: [],
    };
    target.reason = target.reason === '' ? risk.reason : `${target.reason}; ${risk.reason}`;
    const add = (list: string[], items: readonly string[]) => {
      for (const item of items) if (!list.includes(item)) list.push(item);
    };
    add(target.others, [earlier]);
    add(target.files, risk.files);
    add(target.symbols!, risk.symbols);
    byTask.set(later, target);
  }
  return [...byTask.values()];
}
