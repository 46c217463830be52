/**
 * `check_run.rerequested` ("Re-run" on a task's check run: run that task again; on the summary:
 * run the failed tasks again) and `check_run.requested_action` (the summary's buttons: "Retry
 * failed", "Cancel"). Both act for the person who clicked, so they are authorised like commands.
 */
import type { Context } from 'probot';
import { cancelExecution, runTasks } from '../commands/execute.js';
import { configErrorComment, loadRepoConfig } from '../config.js';
import { parseExternalId } from '../execution/id.js';
import { CANCEL_ACTION, RETRY_FAILED_ACTION } from '../execution/names.js';
import { resolveExecution, type ResolvedExecution } from '../execution/resolve.js';
import type { Scope } from '../scope.js';

type CheckRunContext = Context<'check_run.rerequested'> | Context<'check_run.requested_action'>;

export async function onCheckRun(
  context: CheckRunContext,
  scopeFor: () => Promise<Scope>,
): Promise<void> {
  const { payload } = context;
  const id = parseExternalId(payload.check_run.external_id ?? null);
  if (!id) return;
  const scope = await scopeFor();
  const execution = await resolveExecution(scope, payload.check_run.head_sha, id.executionId);
  if (!execution) return;
  const requester = payload.sender.login;
  const permission = await scope.forge.getCollaboratorPermission(requester);
  if (!permission.canWrite) {
    scope.log.warn('check run action by someone without write access', { requester });
    return;
  }
  const action =
    payload.action === 'requested_action' ? payload.requested_action?.identifier : 'rerequested';
  if (action === CANCEL_ACTION.identifier) {
    await cancelExecution(scope, execution, requester);
    return;
  }
  if (action !== RETRY_FAILED_ACTION.identifier && action !== 'rerequested') return;
  const taskIds = id.taskId !== null ? [id.taskId] : failedTasks(execution);
  if (taskIds.length === 0) return;
  await rerun(scope, execution, taskIds, requester, payload.repository.default_branch);
}

function failedTasks(execution: ResolvedExecution): string[] {
  const failed = execution.record.tasks
    .filter((t) => {
      const check = execution.checks.get(t.id);
      return (
        check?.status === 'completed' &&
        !['success', 'skipped', 'neutral'].includes(check.conclusion ?? '')
      );
    })
    .map((t) => t.id);
  // "Re-run" on a summary with nothing failed runs the whole execution again.
  return failed.length > 0 ? failed : execution.record.tasks.map((t) => t.id);
}

/** A re-run is a new execution of those tasks on the PR's current head. */
async function rerun(
  scope: Scope,
  execution: ResolvedExecution,
  taskIds: string[],
  requester: string,
  defaultBranch: string,
): Promise<void> {
  const { record } = execution;
  if (record.pr === null) {
    scope.log.info('re-run of a push execution: not supported, comment or push instead', {
      execution: record.execution,
    });
    return;
  }
  const pr = await scope.forge.getPullRequest(record.pr);
  if (pr.fromFork || pr.state !== 'open') return;
  const loaded = await loadRepoConfig(scope, defaultBranch);
  if (!loaded.ok) {
    await scope.forge.createComment(pr.number, configErrorComment(loaded.error, defaultBranch));
    return;
  }
  await runTasks(
    scope,
    { pr, config: loaded.config, requester, defaultBranch },
    'all',
    taskIds,
    false,
  );
}
