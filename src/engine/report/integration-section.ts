import type { IntegrationResult, InteractionRisk } from '../integrate/schema.js';
import type { ExecutionState } from '../state/schema.js';
import { fileList } from './task-section.js';
import { mdCode, mdSha, mdText } from './markdown.js';
import { repairLine } from './repairs.js';

const STRATEGY: Record<IntegrationResult['strategy'], string> = {
  'batch-bisect': 'batch-and-bisect (merge the batch, test once, bisect on failure)',
  serial: 'serial (test after every merge)',
};

/** "Integration Results": the branch, what merged, what collided, what was dropped and why. */
export function renderIntegrationSection(state: ExecutionState): string[] {
  const integration = state.integration;
  const lines = ['## Integration Results', ''];
  if (integration === null) {
    const why =
      state.status === 'pending' || state.status === 'in_progress'
        ? 'Integration has not run yet.'
        : 'No integration ran: no task produced validated work to merge.';
    return [...lines, why, ''];
  }
  const total = state.task_order.length;
  lines.push(
    `- **Integration Branch**: ${mdCode(integration.branch)} (base ${mdSha(integration.baseSha)} → head ${mdSha(integration.headSha)})`,
    `- **Strategy**: ${STRATEGY[integration.strategy]}`,
    `- **Merged**: ${integration.merged.length} of ${total} tasks${idList(integration.merged)}`,
    `- **Merge Conflicts**: ${integration.conflicts.length}${integration.conflicts.length > 0 ? ' (never auto-resolved; the branch was left out and the integration branch stayed clean)' : ''}${repairedText(integration, 'conflict')}`,
  );
  for (const conflict of integration.conflicts) {
    const other = conflict.with.length > 0 ? ` with ${ids(conflict.with)}` : '';
    lines.push(
      `  - ${mdText(conflict.taskId, 40)} collided${other} in ${fileList(conflict.files)}`,
    );
  }
  lines.push(`- **Integration Tests**: ${testsText(integration)}`);
  lines.push(`- **Dropped Branches**: ${integration.dropped.length}${repairedText(integration)}`);
  for (const dropped of integration.dropped) {
    lines.push(`  - ${mdText(dropped.taskId, 40)}: ${mdText(dropped.reason, 300)}`);
  }
  const repairs = integration.repairs ?? [];
  if (repairs.length > 0) {
    const merged = repairs.filter((repair) => repair.outcome === 'merged').length;
    lines.push(
      `- **Repairs**: ${merged} of ${repairs.length} handed back to an agent and merged (each attempt kept under a ref)`,
    );
    for (const repair of repairs) {
      const where = repair.branch === '' ? '' : ` — branch ${mdCode(repair.branch)}`;
      lines.push(`  - ${mdText(repairLine(repair), 400)}${where}`);
    }
  }
  if (integration.predictedConflicts.length > 0) {
    lines.push(
      `- **Predicted Conflicts** (\`git merge-tree\` before merging): ${integration.predictedConflicts.length}`,
    );
    for (const pair of integration.predictedConflicts) {
      lines.push(`  - ${mdText(pair.a, 40)} ↔ ${mdText(pair.b, 40)} in ${fileList(pair.files)}`);
    }
  }
  const risks = integration.risks ?? [];
  if (risks.length > 0) {
    lines.push(
      `- **Interaction Risks** (merge cleanly, may still break each other): ${risks.length}`,
    );
    for (const risk of risks) {
      lines.push(
        `  - ${mdText(risk.tasks[0], 40)} ↔ ${mdText(risk.tasks[1], 40)}: ${riskText(risk)}`,
      );
    }
  }
  // What the fields above do not say: a check that could not run, tests failing on the base.
  const notes = integration.notes ?? [];
  if (notes.length > 0) {
    lines.push(`- **Notes**: ${notes.length}`);
    for (const note of notes) lines.push(`  - ${mdText(note, 500)}`);
  }
  lines.push('');
  return lines;
}

/**
 * One interaction risk in words: why, and what `integration.onRisk` found (the report, the PR
 * and each task's check run say the same).
 */
export function riskText(risk: InteractionRisk): string {
  const parts = [mdText(risk.reason, 500)];
  if (risk.test !== undefined) parts.push(riskTestText(risk.test));
  if (risk.note !== undefined) parts.push(mdText(risk.note, 200));
  return parts.join(' — ');
}

function riskTestText(test: NonNullable<InteractionRisk['test']>): string {
  if (test.outcome === 'no-tests') return 'neither task added or changed a test to run together';
  const files = fileList(test.files);
  return test.outcome === 'failed'
    ? `❌ **confirmed**: their own new tests fail together (${files})`
    : `✅ their own new tests pass together (${files})`;
}

/**
 * ` (and 1 repaired by an agent, under Repairs)`: what was left out before a repair landed it (an
 * interaction repair's task was never left out).
 */
function repairedText(integration: IntegrationResult, kind?: 'conflict'): string {
  const count = (integration.repairs ?? []).filter(
    (repair) =>
      repair.outcome === 'merged' &&
      repair.kind !== 'interaction' &&
      (kind === undefined || repair.kind === kind),
  ).length;
  return count > 0 ? ` (and ${count} repaired by an agent, under Repairs)` : '';
}

function testsText(integration: IntegrationResult): string {
  const runs = `${integration.testRuns} test run${integration.testRuns === 1 ? '' : 's'}`;
  if (integration.testsPassed === null || integration.testCommand === null) {
    return `not run (no test command configured or detected); ${runs}`;
  }
  const verdict = integration.testsPassed ? '✅ passing' : '❌ failing';
  return `${verdict} (${mdCode(integration.testCommand)}), ${runs}`;
}

function idList(taskIds: readonly string[]): string {
  return taskIds.length === 0 ? '' : ` (${ids(taskIds)})`;
}

function ids(taskIds: readonly string[]): string {
  return taskIds.map((id) => mdText(id, 40)).join(', ');
}
