/**
 * The three shells select the same tasks for the same plan and request: the CLI (`run --dry-run`),
 * the workflow's plan job (`mode: plan`) and the app (`/parallel-run …`), each through its own
 * entry point, against one table of plan states × group/task requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runAction } from '../../src/action/main.js';
import { decodeRecord } from '../../src/app/execution/record.js';
import { taskCheckName } from '../../src/forge/check-names.js';
import { recordingRuntime } from '../action/recording-runtime.js';
import { commentPayload, HEAD_SHA, PLAN_PATH, startHarness } from '../app/support/app-harness.js';
import { cli } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

/** Group A: 1.1 and 1.2 share Builder-1; 1.3 is Builder-2. Group B waits for group A. */
const FRESH = `# Plan: Widgets

## Parallel Group A: Foundation
**Dependencies**: None

- [ ] 1.1: Build the model (Builder-1, 2h)
  - [ ] model exported
- [ ] 1.2: Build the store (Builder-1, 3h)
  - [ ] store works
- [ ] 1.3: Build the cache (Builder-2, 1h)
  - [ ] cache works

## Parallel Group B: API
**Dependencies**: Group A complete

- [ ] 2.1: Expose endpoints (Builder-3, 2h)
  - [ ] endpoints answer
`;

/** After a run: 1.1 done, 1.2 failed, 1.3 still pending, 2.1 skipped because 1.2 failed. */
const AFTER_FAILURE = FRESH.replace(
  '- [ ] 1.1: Build the model (Builder-1, 2h)',
  '- [x] 1.1: Build the model (Builder-1, 2h) ✅',
)
  .replace('(Builder-1, 3h)', '(Builder-1, 3h) ❌ failed')
  .replace('(Builder-3, 2h)', '(Builder-3, 2h) ⏭️ Skipped: dependency 1.2 failed');

/** As after the failure, with 1.3 done since: retrying 1.2 brings 2.1 back. */
const ONLY_FAILED_LEFT = AFTER_FAILURE.replace(
  '- [ ] 1.3: Build the cache (Builder-2, 1h)',
  '- [x] 1.3: Build the cache (Builder-2, 1h) ✅',
);

/** Everything of group A done. */
const A_DONE = FRESH.replace(/- \[ \] (1\.\d: .*)/g, '- [x] $1 ✅');

type Request = { group: string } | { task: string };

interface Picked {
  /** Every task the execution runs (CLI, app); null when the shell does not say (the workflow). */
  runs: string[] | null;
  /** The first wave (workflow, app); null when the shell does not say (the CLI). */
  first: string[] | null;
  refused: boolean;
}

const PLANS = {
  fresh: FRESH,
  'after a failure': AFTER_FAILURE,
  'only the failure left': ONLY_FAILED_LEFT,
  'group A done': A_DONE,
};

const CASES: Array<[keyof typeof PLANS, Request, { runs: string[]; first: string[] } | null]> = [
  // Tasks sharing an agent: one at a time locally (the CLI's scheduler), together in a wave.
  ['fresh', { group: 'all' }, { runs: ['1.1', '1.2', '1.3', '2.1'], first: ['1.1', '1.2', '1.3'] }],
  ['fresh', { group: 'a' }, { runs: ['1.1', '1.2', '1.3'], first: ['1.1', '1.2', '1.3'] }],
  ['fresh', { group: 'B' }, null],
  ['fresh', { group: 'Z' }, null],
  ['after a failure', { group: 'all' }, { runs: ['1.3'], first: ['1.3'] }],
  ['after a failure', { group: 'b' }, null],
  ['after a failure', { task: '1.2' }, { runs: ['1.2'], first: ['1.2'] }],
  ['after a failure', { task: '1.1' }, null],
  ['only the failure left', { group: 'all' }, null],
  ['only the failure left', { task: '1.2' }, { runs: ['1.2', '2.1'], first: ['1.2'] }],
  ['group A done', { group: 'b' }, { runs: ['2.1'], first: ['2.1'] }],
];

describe('the CLI, the workflow and the app select alike', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await createTempRepo();
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  it.each(CASES)('%s plan, %j', async (state, request, expected) => {
    const plan = PLANS[state];
    await repo.write(PLAN_PATH, plan);
    await repo.commit('plan');
    const picks = {
      cli: await viaCli(repo, request),
      action: await viaAction(repo, request),
      app: await viaApp(plan, request),
    };
    if (expected === null) {
      expect(picks).toEqual({
        cli: { runs: null, first: null, refused: true },
        action: { runs: null, first: null, refused: true },
        app: { runs: null, first: null, refused: true },
      });
      return;
    }
    expect(picks).toEqual({
      cli: { runs: expected.runs, first: null, refused: false },
      action: { runs: null, first: expected.first, refused: false },
      app: { runs: expected.runs, first: expected.first, refused: false },
    });
  });
});

async function viaCli(repo: TempRepo, request: Request): Promise<Picked> {
  const which = 'group' in request ? ['--group', request.group] : ['--tasks', request.task];
  const result = await cli(
    [
      'run',
      '--plan',
      PLAN_PATH,
      '--agent',
      'command',
      '--agent-command',
      'true',
      '--dry-run',
      '--json',
      ...which,
    ],
    repo.dir,
  );
  if (result.code === 2) return { runs: null, first: null, refused: true };
  const preview = JSON.parse(result.stdout) as { tasks: Array<{ taskId: string }> };
  return { runs: preview.tasks.map((t) => t.taskId), first: null, refused: false };
}

async function viaAction(repo: TempRepo, request: Request): Promise<Picked> {
  const runtime = recordingRuntime({
    mode: 'plan',
    ...('group' in request ? { group: request.group } : { tasks: request.task }),
  });
  await runAction({
    runtime,
    env: {
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_WORKSPACE: repo.dir,
      GITHUB_SHA: HEAD_SHA,
      GITHUB_RUN_ID: '123',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
    },
  });
  if (runtime.failed !== null) return { runs: null, first: null, refused: true };
  const matrix = JSON.parse(runtime.outputs['matrix']!) as { include: Array<{ task: string }> };
  const first = matrix.include.map((leg) => leg.task);
  return { runs: null, first: first.length > 0 ? first : null, refused: first.length === 0 };
}

async function viaApp(plan: string, request: Request): Promise<Picked> {
  const h = await startHarness();
  try {
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, plan);
    const command =
      'group' in request ? `/parallel-run ${request.group}` : `/parallel-run retry ${request.task}`;
    await h.receive('issue_comment', commentPayload(command));
    const summary = h.github.checkRunsFor(HEAD_SHA).find((c) => c.name === 'parallel-executor');
    if (!summary) {
      expect(h.github.comments.at(-1)?.body).toMatch(/^Nothing was started: /);
      return { runs: null, first: null, refused: true };
    }
    const record = decodeRecord(summary.output.summary)!;
    // The app's task check runs (written when their jobs start, or queued after two minutes)
    // carry the same names as the workflow's plan job gives them.
    await h.time.advance(2 * 60_000 + 1000);
    for (const task of record.tasks) {
      expect(h.github.checkRunsFor(HEAD_SHA).map((c) => c.name)).toContain(taskCheckName(task));
    }
    return { runs: record.tasks.map((t) => t.id), first: record.waveTasks, refused: false };
  } finally {
    h.close();
  }
}
