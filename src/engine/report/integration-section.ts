import type { IntegrationResult } from '../integrate/schema.js';
import type { ExecutionState } from '../state/schema.js';
import { fileList } from './task-section.js';
import { mdCode, mdText } from './markdown.js';
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
    `- **Integration Branch**: ${mdCode(integration.branch)} (base ${mdCode(short(integration.baseSha))} → head ${mdCode(short(integration.headSha))})`,
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
  lines.push('');
  return lines;
}

/** ` (and 1 repaired by an agent, under Repairs)`: what was left out before a repair landed it. */
function repairedText(integration: IntegrationResult, kind?: 'conflict'): string {
  const count = (integration.repairs ?? []).filter(
    (repair) => repair.outcome === 'merged' && (kind === undefined || repair.kind === kind),
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

function short(sha: string): string {
  return sha.slice(0, 7);
}
