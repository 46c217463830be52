import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoDeviations, reportExcerpt } from '../../src/demo/expectations.js';
import type { RepairRecord } from '../../src/engine/integrate/schema.js';
import { ConfigurationError } from '../../src/engine/errors.js';
import { everyTaskLanded } from '../../src/engine/finish/finisher.js';
import { integrationBranchName } from '../../src/engine/finish/integration-step.js';
import { nextGroupOf, planUpdate, reportLinkFrom } from '../../src/engine/finish/plan-update.js';
import { reportPathOf } from '../../src/engine/finish/report-step.js';
import { describeDetection } from '../../src/engine/finish/validation-step.js';
import { detectChecks } from '../../src/engine/validate/detect.js';
import { plan, task } from '../engine/helpers.js';
import { reportFixture } from '../report/fixture.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

const GROUP_2 = plan(['2.1', '2.2', '2.3', '2.4', '2.5'].map((id) => task(id, { group: '2' })));

describe('planUpdate', () => {
  it('marks only what landed as completed; conflicts, drops, failures and skips say why', () => {
    const update = planUpdate(reportFixture(), GROUP_2, 'reports/exec.md');
    expect(update).toEqual({
      tasks: [
        { id: '2.1', outcome: 'completed', actualMs: 1_285_380 },
        {
          id: '2.2',
          outcome: 'failed',
          note: 'not integrated: merge conflict with task 2.1 in src/auth/index.ts',
        },
        {
          id: '2.3',
          outcome: 'failed',
          note: 'not integrated: broke the integration tests (found by bisection)',
        },
        {
          id: '2.4',
          outcome: 'failed',
          note: 'timed out after 20m (wall-clock limit); killed with SIGTERM',
        },
        { id: '2.5', outcome: 'skipped', note: 'Skipped: dependency 2.4 failed' },
      ],
      groups: [],
      reportPath: 'reports/exec.md',
    });
  });

  it('completes a group when all its tasks landed, with warnings kept and the span as its time', () => {
    const state = reportFixture();
    for (const id of ['2.4', '2.5']) {
      delete state.tasks[id];
    }
    state.task_order = ['2.1', '2.2', '2.3'];
    state.integration = {
      ...state.integration!,
      merged: ['2.1', '2.2', '2.3'],
      conflicts: [],
      dropped: [],
    };
    const groupPlan = plan(['2.1', '2.2', '2.3'].map((id) => task(id, { group: '2' })));
    const update = planUpdate(state, groupPlan, null);
    expect(update.tasks[1]).toEqual({
      id: '2.2',
      outcome: 'warnings',
      note: 'lint failed',
      actualMs: 1_604_000,
    });
    // An audit that could not run found nothing: said so, not "failed".
    const checks = state.tasks['2.2']!.validation!.checks;
    checks.push({
      ...checks.find((c) => c.name === 'lint')!,
      name: 'security',
      failure: 'the audit could not run: 405 Method Not Allowed',
    });
    expect(planUpdate(state, groupPlan, null).tasks[1]!.note).toBe(
      'lint failed; security could not run',
    );
    checks.splice(
      checks.findIndex((c) => c.name === 'lint'),
      1,
    );
    expect(planUpdate(state, groupPlan, null).tasks[1]!.note).toBe('security could not run');
    // 14:31:15.120 (2.1 starts) to 15:08:30.000 (2.3 ends).
    expect(update.groups).toEqual([{ id: '2', completed: true, actualMs: 2_234_880 }]);
    expect(update).not.toHaveProperty('reportPath');
    expect(everyTaskLanded(state)).toBe(true);
    state.integration!.testsPassed = false;
    expect(everyTaskLanded(state)).toBe(false);
  });

  it('suggests the next group with work only after a fully landed group', () => {
    const twoGroups = plan([task('1.1', { group: '1' }), task('2.1', { group: '2' })]);
    const state = {
      ...reportFixture(),
      parallel_group: '1',
      task_order: ['1.1'],
      status: 'completed' as const,
    };
    expect(nextGroupOf(state, twoGroups)).toEqual({ id: '2', title: 'Group 2' });
    expect(nextGroupOf({ ...state, status: 'failed' }, twoGroups)).toBeNull();
    expect(nextGroupOf({ ...state, parallel_group: 'all' }, twoGroups)).toBeNull();
  });
});

describe('report paths', () => {
  it('puts the report under the configured folder, never outside the repository', () => {
    expect(reportPathOf('reports', 'exec_1')).toBe('reports/exec_1.md');
    expect(reportPathOf('docs/reports/', 'exec_1')).toBe('docs/reports/exec_1.md');
    expect(reportPathOf('.', 'exec_1')).toBe('exec_1.md');
    expect(() => reportPathOf('../elsewhere', 'exec_1')).toThrow(ConfigurationError);
    expect(() => reportPathOf('/tmp/reports', 'exec_1')).toThrow(/outside the repository/);
  });

  it('links the report relative to the plan', () => {
    expect(reportLinkFrom('MULTI_AGENT_PLAN.md', 'reports/x.md')).toBe('reports/x.md');
    expect(reportLinkFrom('docs/plans/PLAN.md', 'reports/x.md')).toBe('../../reports/x.md');
  });
});

describe('integrationBranchName', () => {
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await createTempRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('names the branch after the group or the execution, and never reuses one', async () => {
    const state = {
      ...reportFixture(),
      repo_root: repo.dir,
      execution_id: 'exec_1',
      parallel_group: 'A b',
    };
    expect(await integrationBranchName(repo.dir, 'integration/', state)).toBe(
      'integration/group-a-b',
    );
    await repo.git(['branch', 'integration/group-a-b']);
    expect(await integrationBranchName(repo.dir, 'integration/', state)).toBe(
      'integration/group-a-b-exec_1',
    );
    const all = { ...state, parallel_group: 'all' };
    expect(await integrationBranchName(repo.dir, 'integration/', all)).toBe('integration/exec_1');
    await repo.git(['branch', 'integration/exec_1']);
    expect(await integrationBranchName(repo.dir, 'integration/', all)).toBe('integration/exec_1-2');
  });
});

describe('the validation note', () => {
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await createTempRepo({
      files: { 'package.json': JSON.stringify({ scripts: { test: 'vitest', lint: 'eslint .' } }) },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('says what runs and what was skipped, and why', async () => {
    const checks = await detectChecks(repo.dir, { critical: ['tests'], build: false });
    expect(describeDetection(checks)).toBe(
      'runs lint (npm run lint), tests (npm test, critical); skipped coverage (no "test:coverage" or ' +
        '"coverage" script in package.json), security (no package-lock.json for npm audit), ' +
        'build (disabled in .github/parallel-executor.yml)',
    );
  });
});

function repair(
  taskId: string,
  kind: RepairRecord['kind'],
  outcome: RepairRecord['outcome'],
  others: string[] = [],
  files: string[] = [],
): RepairRecord {
  return {
    taskId,
    kind,
    attempts: 1,
    outcome,
    with: others,
    files,
    branch: `b-${taskId}-repair`,
    reason: outcome === 'merged' ? null : 'failed',
    keptRefs: [],
    durationMs: 1000,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
  };
}

describe('the demo', () => {
  it('tells a run that went as designed from one that did not', () => {
    const state = reportFixture();
    expect(demoDeviations(state)).toEqual([
      'task 2.3 should fail its validation (its own test fails) and stay failed; it is completed',
      'tasks 1.1, 1.2, 1.3 should have merged cleanly',
      'task 2.2 should conflict with 2.1 in src/config.js, and be repaired and merged',
      'task 2.4 should be blamed for the failing integration tests, and be repaired and merged',
      'the repair of task 2.3 should be tried and fail',
    ]);
    state.tasks['2.3'] = {
      ...state.tasks['2.3']!,
      status: 'failed',
      validation: { ...state.tasks['2.3']!.validation!, status: 'FAILED' },
    };
    state.integration = {
      ...state.integration!,
      merged: ['1.1', '1.2', '1.3', '2.1', '2.2', '2.4'],
      conflicts: [],
      repairs: [
        repair('2.2', 'conflict', 'merged', ['2.1'], ['src/config.js']),
        repair('2.3', 'validation', 'failed'),
        repair('2.4', 'tests', 'merged'),
      ],
    };
    expect(demoDeviations(state)).toEqual([]);
    // A conflict repaired with the wrong task, or a repair that did not land, is a deviation.
    state.integration.repairs![0] = repair('2.2', 'conflict', 'failed', ['2.1'], ['src/config.js']);
    expect(demoDeviations(state)).toEqual([
      'task 2.2 should conflict with 2.1 in src/config.js, and be repaired and merged',
    ]);
  });

  it('excerpts the report by section', () => {
    const report = '# T\n\n## A\n- a\n\n## B\nb\n\n## C\n- c\n';
    expect(reportExcerpt(report, ['A', 'C'])).toBe('## A\n- a\n\n## C\n- c\n');
  });
});
