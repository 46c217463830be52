/**
 * What the workflow's integrate job uploads: the execution state (and report) in an artifact,
 * zipped by the real `zip` tool as GitHub serves artifacts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExecutionState, type TaskRun } from '../../../src/engine/state/schema.js';
import type { ExecutionRecord } from '../../../src/app/execution/record.js';

export function zipFiles(files: Record<string, string | Buffer>): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'pe-artifact-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    execFileSync('zip', ['-q', '-X', 'artifact.zip', ...Object.keys(files)], { cwd: dir });
    return readFileSync(path.join(dir, 'artifact.zip'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type TaskEnd = 'merged' | 'failed' | 'conflict' | 'not-run';

/**
 * The state the integrate job would write for `record`, each task ending as given. `only`: the
 * tasks of one wave (a wave's run reports its own tasks only); default every task.
 */
export function executionState(
  record: ExecutionRecord,
  ends: Record<string, TaskEnd>,
  only: readonly string[] | null = null,
): ExecutionState {
  const branch = `integration/${record.execution}`;
  const tasks: Record<string, TaskRun> = {};
  const wave = record.tasks.filter((t) => only === null || only.includes(t.id));
  for (const task of wave) {
    const end = ends[task.id] ?? 'merged';
    const ran = end !== 'not-run';
    const passed = end !== 'failed';
    tasks[task.id] = {
      task_id: task.id,
      task: task.title,
      agent: task.agent,
      agents: task.agents,
      group: task.group,
      depends_on: task.dependsOn,
      estimate_hours: task.estimateHours,
      status: !ran ? 'pending' : passed ? 'completed' : 'failed',
      progress_percent: ran ? 100 : 0,
      current_step: null,
      started_at: ran ? '2026-11-05T10:01:00Z' : null,
      finished_at: ran ? '2026-11-05T10:21:00Z' : null,
      worktree: `/runner/work/${task.id}`,
      branch: `agent/${task.id}`,
      start_sha: record.sha,
      head_sha: ran ? 'b'.repeat(40) : null,
      pid: null,
      attempts: ran ? 1 : 0,
      exit_code: ran ? (passed ? 0 : 1) : null,
      reason: passed ? null : 'tests failed',
      log_file: `logs/${task.id}.log`,
      output_dir: `out/${task.id}`,
      port: 41000,
      metrics: ran
        ? {
            lines_added: 120,
            lines_removed: 8,
            files_modified: 3,
            files_changed: ['src/a.ts'],
            duration_ms: 1_200_000,
            input_tokens: 5000,
            output_tokens: 900,
            cost_usd: 0.42,
          }
        : null,
      validation: ran
        ? {
            agent: task.agent,
            task_id: task.id,
            status: passed ? 'COMPLETE_VALIDATED' : 'FAILED',
            overall_passed: passed,
            checks: [
              {
                name: 'lint',
                command: 'npm run lint',
                exitCode: 0,
                passed: true,
                skipped: false,
                note: null,
                critical: false,
                durationMs: 4000,
                outputFile: null,
              },
              {
                name: 'tests',
                command: 'npm test',
                exitCode: passed ? 0 : 1,
                passed,
                skipped: false,
                note: null,
                critical: true,
                durationMs: 21000,
                outputFile: null,
              },
            ],
            coverage: 88,
            tests: { passed: passed ? 40 : 37, total: 40 },
            audit: null,
            validations: {
              lint: { passed: true, exit_code: 0 },
              tests: { passed, exit_code: passed ? 0 : 1 },
            },
          }
        : null,
    };
  }
  const merged = Object.entries(ends)
    .filter(([, e]) => e === 'merged')
    .map(([id]) => id);
  const state: ExecutionState = {
    version: 1,
    execution_id: record.execution,
    plan_file: record.plan,
    plan_title: record.planTitle,
    parallel_group: record.group,
    repo_root: '/runner/work/widgets',
    base_ref: record.ref,
    base_sha: record.sha,
    started_at: '2026-11-05T10:00:00Z',
    finished_at: '2026-11-05T10:30:00Z',
    status: 'completed',
    orchestrator_pid: null,
    tasks,
    task_order: wave.map((t) => t.id),
    completed_tasks: Object.values(tasks)
      .filter((t) => t.status === 'completed')
      .map((t) => t.task_id),
    failed_tasks: Object.values(tasks)
      .filter((t) => t.status === 'failed')
      .map((t) => t.task_id),
    messages: [],
    integration: {
      strategy: 'batch-bisect',
      branch,
      baseSha: record.sha,
      headSha: 'd'.repeat(40),
      merged,
      conflicts: Object.entries(ends)
        .filter(([, e]) => e === 'conflict')
        .map(([taskId]) => ({ taskId, files: ['src/shared.ts'], with: [merged[0] ?? ''] })),
      dropped: [],
      predictedConflicts: [],
      testRuns: 2,
      testsPassed: true,
      testCommand: 'npm test',
    },
    report_path: 'reports/report.md',
  };
  return ExecutionState.parse(state);
}
