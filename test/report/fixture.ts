import { ExecutionState, type TaskRun } from '../../src/engine/state/schema.js';
import type { CheckResult, ValidationReport } from '../../src/engine/validate/schema.js';

/**
 * A fixed, realistic finished execution of five tasks: one clean and merged, one with lint
 * warnings that needed a retry and then collided with the first, one dropped by bisection, one
 * timed out, and one skipped because it depended on the timed-out one.
 */

const EXEC = '/repo/.parallel-executor/executions/exec_20251129_143052';

function check(name: CheckResult['name'], overrides: Partial<CheckResult> = {}): CheckResult {
  return {
    name,
    command: `npm run ${name}`,
    exitCode: 0,
    passed: true,
    skipped: false,
    note: 'package.json script',
    critical: name === 'tests' || name === 'build',
    durationMs: 4_200,
    outputFile: `${EXEC}/outputs/x/${name}.txt`,
    ...overrides,
  };
}

function validation(
  taskId: string,
  agent: string,
  checks: CheckResult[],
  extra: Partial<ValidationReport> = {},
): ValidationReport {
  const failed = checks.filter((c) => !c.skipped && !c.passed);
  const status =
    failed.length === 0
      ? 'COMPLETE_VALIDATED'
      : failed.some((c) => c.critical)
        ? 'FAILED'
        : 'COMPLETE_WITH_WARNINGS';
  return {
    agent,
    task_id: taskId,
    status,
    overall_passed: failed.length === 0,
    checks,
    coverage: 90,
    tests: { passed: 20, total: 20 },
    audit: null,
    validations: Object.fromEntries(
      checks.map((c) => [c.name, { passed: c.passed, exit_code: c.exitCode }]),
    ),
    ...extra,
  };
}

const SKIPPED_SECURITY = check('security', {
  command: null,
  exitCode: null,
  passed: true,
  skipped: true,
  note: 'no package-lock.json found',
  durationMs: 0,
  outputFile: null,
});

/** A settled task record with every field filled; `overrides` set what a case needs. */
export function task(id: string, overrides: Partial<TaskRun>): TaskRun {
  const slug = id.replace('.', '-');
  return {
    task_id: id,
    task: `Task ${id}`,
    agent: 'builder-1',
    agents: ['builder-1'],
    group: '2',
    depends_on: [],
    estimate_hours: null,
    status: 'completed',
    progress_percent: 100,
    current_step: null,
    started_at: null,
    finished_at: null,
    worktree: `/repo/.parallel-executor/worktrees/${slug}`,
    branch: `agent/builder-1/${slug}`,
    start_sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    head_sha: null,
    pid: null,
    attempts: 1,
    exit_code: 0,
    reason: null,
    log_file: `${EXEC}/logs/${id}.log`,
    output_dir: `${EXEC}/outputs/${id}`,
    port: 3100,
    metrics: null,
    validation: null,
    ...overrides,
  };
}

export function reportFixture(): ExecutionState {
  const tasks: Record<string, TaskRun> = {
    '2.1': task('2.1', {
      task: 'Implement JWT service',
      estimate_hours: 6,
      started_at: '2025-11-29T14:31:15.120Z',
      finished_at: '2025-11-29T14:52:40.500Z',
      head_sha: '1111111aaaaaaa',
      branch: 'agent/builder-1/jwt-service',
      port: 3101,
      metrics: {
        lines_added: 387,
        lines_removed: 12,
        files_modified: 3,
        files_changed: [
          'src/auth/jwt.service.ts',
          'src/auth/jwt.service.spec.ts',
          'src/auth/index.ts',
        ],
        duration_ms: 1_285_380,
        input_tokens: 182_340,
        output_tokens: 21_877,
        cost_usd: 0.8731,
      },
      validation: validation(
        '2.1',
        'builder-1',
        [check('lint'), check('tests'), check('coverage'), SKIPPED_SECURITY, check('build')],
        {
          coverage: 92,
          tests: { passed: 24, total: 24 },
        },
      ),
    }),
    '2.2': task('2.2', {
      task: 'Create User model and repository',
      agent: 'builder-2',
      agents: ['builder-2'],
      estimate_hours: 4,
      started_at: '2025-11-29T14:31:18.000Z',
      finished_at: '2025-11-29T14:58:02.000Z',
      branch: 'agent/builder-2/user-model',
      attempts: 2,
      port: 3102,
      metrics: {
        lines_added: 245,
        lines_removed: 8,
        files_modified: 7,
        files_changed: [
          'src/models/user.ts',
          'src/models/user.repository.ts',
          'src/models/user.repository.spec.ts',
          'src/models/index.ts',
          'src/auth/index.ts',
          'migrations/001_users.sql',
          'docs/models.md',
        ],
        duration_ms: 1_604_000,
        input_tokens: 240_112,
        output_tokens: 30_540,
        cost_usd: 1.1207,
      },
      validation: validation(
        '2.2',
        'builder-2',
        [
          check('lint', { exitCode: 1, passed: false }),
          check('tests'),
          check('coverage'),
          SKIPPED_SECURITY,
          check('build'),
        ],
        { coverage: 88, tests: { passed: 18, total: 18 } },
      ),
    }),
    '2.3': task('2.3', {
      task: 'Build /register | /login endpoints',
      depends_on: ['2.1'],
      estimate_hours: 5,
      started_at: '2025-11-29T14:52:41.000Z',
      finished_at: '2025-11-29T15:08:30.000Z',
      branch: 'agent/builder-1/register-endpoint',
      port: 3103,
      metrics: {
        lines_added: 156,
        lines_removed: 3,
        files_modified: 2,
        files_changed: ['src/routes/register.ts', 'src/routes/register.spec.ts'],
        duration_ms: 949_000,
        input_tokens: 99_871,
        output_tokens: 12_004,
        cost_usd: 0.4412,
      },
      validation: validation(
        '2.3',
        'builder-1',
        [check('lint'), check('tests'), check('coverage'), SKIPPED_SECURITY, check('build')],
        {
          coverage: 95,
          tests: { passed: 12, total: 12 },
        },
      ),
    }),
    '2.4': task('2.4', {
      task: 'Password reset flow',
      agent: 'validator-1',
      agents: ['validator-1', 'builder-3'],
      started_at: '2025-11-29T14:31:20.000Z',
      finished_at: '2025-11-29T14:51:20.000Z',
      status: 'failed',
      progress_percent: 60,
      branch: 'agent/validator-1/password-reset',
      exit_code: 143,
      reason: 'timed out after 20m (wall-clock limit); killed with SIGTERM',
      port: 3104,
      metrics: {
        lines_added: 40,
        lines_removed: 0,
        files_modified: 1,
        files_changed: ['src/auth/reset.ts'],
        duration_ms: 1_200_000,
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
      },
    }),
    '2.5': task('2.5', {
      task: 'Write auth flow integration tests',
      agent: 'validator-2',
      agents: ['validator-2'],
      depends_on: ['2.4'],
      estimate_hours: 3,
      status: 'skipped',
      progress_percent: 0,
      branch: 'agent/validator-2/auth-flow-tests',
      exit_code: null,
      reason: 'dependency 2.4 failed',
      port: 3105,
    }),
  };
  return ExecutionState.parse({
    version: 1,
    execution_id: 'exec_20251129_143052',
    plan_file: 'MULTI_AGENT_PLAN.md',
    plan_title: 'Auth Platform',
    parallel_group: '2',
    repo_root: '/repo',
    base_ref: 'main',
    base_sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    started_at: '2025-11-29T14:30:52.000Z',
    finished_at: '2025-11-29T15:20:10.250Z',
    status: 'failed',
    orchestrator_pid: null,
    tasks,
    task_order: ['2.1', '2.2', '2.3', '2.4', '2.5'],
    completed_tasks: ['2.1', '2.2', '2.3'],
    failed_tasks: ['2.4'],
    messages: [
      {
        message_id: 'msg_001',
        timestamp: '2025-11-29T14:45:30.000Z',
        from_agent: 'builder-1',
        to_agent: 'builder-2',
        message_type: 'interface_contract',
        payload: { interface: 'IUserService', methods: ['findById', 'create'] },
        acknowledged_at: '2025-11-29T14:46:02.000Z',
      },
      {
        message_id: 'msg_002',
        timestamp: '2025-11-29T14:47:10.000Z',
        from_agent: 'validator-1',
        to_agent: 'builder-1',
        message_type: 'question',
        payload: 'Which claim holds the user id?',
        acknowledged_at: null,
      },
    ],
    integration: {
      strategy: 'batch-bisect',
      branch: 'integration/group-2',
      baseSha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      headSha: 'f0e1d2c3b4a5968778695a4b3c2d1e0f98765432',
      merged: ['2.1'],
      conflicts: [{ taskId: '2.2', files: ['src/auth/index.ts'], with: ['2.1'] }],
      dropped: [{ taskId: '2.3', reason: 'broke the integration tests (found by bisection)' }],
      predictedConflicts: [{ a: '2.1', b: '2.2', files: ['src/auth/index.ts'] }],
      testRuns: 3,
      testsPassed: true,
      testCommand: 'npm test',
    },
    report_path: `${EXEC}/report.md`,
  });
}
