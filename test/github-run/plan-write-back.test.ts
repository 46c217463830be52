/**
 * One rule for what the plan says after a run, whichever shell ran it: the CLI on a clone, the
 * Action's agent legs and integrate job on runners, and the App that dispatched that workflow and
 * copies the integration branch's plan to the PR branch. The same scenario — 1.1 lands, 1.2
 * conflicts with it, 1.3 fails validation, 1.4's agent fails — must leave the same plan text
 * (durations and the execution id aside, which differ between runs). The App's integration PR
 * and report comment are the ones the Action writes on its own (test/action/e2e.test.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLegDirs } from '../action/leg-fixture.js';
import { integrationSourceRef } from '../../src/action/integrate/result.js';
import { STATE_ARTIFACT } from '../../src/app/execution/names.js';
import { decodeRecord } from '../../src/app/execution/record.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { planText, repositoryFiles, SCENARIO, writeAgent } from '../action/e2e-fixture.js';
import { createRemote, passArtifact, runStep, testGitEnv, type Remote } from '../action/runner.js';
import { zipFiles } from '../app/support/artifacts.js';
import {
  commentPayload,
  HEAD_REF,
  HEAD_SHA,
  PLAN_PATH,
  runCompletedPayload,
  startHarness,
  type Harness,
} from '../app/support/app-harness.js';
import { cli } from '../cli-run/helpers.js';

const WAVE = ['1.1', '1.2', '1.3', '1.4'];

describe('a run on GitHub: the CLI, the Action and the App write the same plan', () => {
  const legs = useLegDirs('pe-write-back-');
  let dir: string;
  let home: string;
  let remote: Remote;
  let h: Harness;

  beforeEach(async () => {
    ({ dir, home } = legs);
    remote = await createRemote(dir, await repositoryFiles(planText('Add feature A')));
    h = await startHarness();
  });
  afterEach(async () => {
    h.gh.assertDone();
    await h.close();
  });

  it('for a wave where one task lands, one conflicts, one fails validation and one agent fails', async () => {
    // As committed, final newline included (remote.git trims): the App writes on this text.
    const original = (await git(remote.bare, ['show', 'main:MULTI_AGENT_PLAN.md'])).stdout;
    const agent = await writeAgent(dir, SCENARIO);

    // The CLI, on a clone.
    const clone = join(dir, 'cli');
    await git(dir, ['clone', '-q', remote.bare, clone], { env: testGitEnv(home) });
    const run = await cli(
      ['run', '--group', '1', '--agent', 'command', '--agent-command', agent.command, '--json'],
      clone,
      { ...testGitEnv(home), ...agent.env },
    );
    const document = JSON.parse(run.stdout) as {
      executionId: string;
      integration: { branch: string; merged: string[] };
    };
    expect(document.integration.merged).toEqual(['1.1']);
    const byCli = (await git(clone, ['show', `${document.integration.branch}:${PLAN_PATH}`]))
      .stdout;

    // The App starts the execution; the workflow it dispatches runs the Action.
    h.github.permissions.set('alice', 'write');
    h.github.setFile('main', '.github/parallel-executor.yml', 'github:\n  writeBackToPr: true\n');
    h.github.setFile(HEAD_SHA, PLAN_PATH, original);
    h.github.setFile(HEAD_REF, PLAN_PATH, original);
    await h.receive('issue_comment', commentPayload('/parallel-run 1'));
    const summary = h.github.checkRunsFor(HEAD_SHA).filter((c) => c.name === 'parallel-executor');
    const record = decodeRecord(summary.at(-1)!.output.summary)!;
    expect(record.tasks.map((t) => t.id)).toEqual(WAVE);
    const execution = record.execution;

    // The Action: one agent leg per task, then the integrate job (no token anywhere).
    for (const id of WAVE) {
      await runStep({
        dir,
        home,
        remote,
        name: `agent-${id}`,
        ref: remote.sha,
        inputs: {
          mode: 'agent',
          task: id,
          'execution-id': execution,
          agent: 'command',
          'agent-command': agent.command,
          'bundle-dir': join(dir, `bundle-${id}`),
          'github-token': '',
        },
        env: agent.env,
      });
      await passArtifact(join(dir, `bundle-${id}`), join(dir, 'artifacts'), id);
    }
    const integrated = await runStep({
      dir,
      home,
      remote,
      name: 'integrate',
      ref: remote.sha,
      inputs: {
        mode: 'integrate',
        'execution-id': execution,
        'bundle-dir': join(dir, 'artifacts'),
        'result-dir': join(dir, 'result'),
        'github-token': '',
        'app-managed': 'true',
      },
    });
    expect(integrated.outputs.merged).toBe('["1.1"]');
    const byAction = (
      await git(integrated.workspace, ['show', `${integrationSourceRef(execution)}:${PLAN_PATH}`])
    ).stdout;

    // The run ends: the App reads the integrate job's state and copies the plan to the PR branch.
    h.github.setFile(`integration/${execution}`, PLAN_PATH, byAction);
    const state = await readFile(join(dir, 'result', 'PARALLEL_EXECUTION_STATUS.json'), 'utf8');
    h.github.artifacts.set(record.run!, [
      {
        id: 77_000,
        name: STATE_ARTIFACT,
        zip: zipFiles({ 'PARALLEL_EXECUTION_STATUS.json': state }),
      },
    ]);
    h.github.jobs.set(
      record.run!,
      WAVE.map((id, i) => ({
        id: 100 + i,
        name: `agent (${id})`,
        status: 'completed',
        conclusion: ['1.1', '1.2'].includes(id) ? 'success' : 'failure',
        started_at: '2026-11-05T10:01:00Z',
        completed_at: '2026-11-05T10:21:00Z',
      })),
    );
    const workflowRun = h.github.runs.get(record.run!)!;
    Object.assign(workflowRun, { status: 'completed', conclusion: 'failure' });
    await h.receive(
      'workflow_run',
      runCompletedPayload({
        id: record.run!,
        conclusion: 'failure',
        displayTitle: workflowRun.display_title,
      }),
    );
    await h.settle();
    const byApp = h.github.fileAt(HEAD_REF, PLAN_PATH)!;

    // The tasks' check runs, the integration PR and the report comment, as the Action writes them
    // without an App (test/action/e2e.test.ts).
    const checks = Object.fromEntries(
      WAVE.map((id) => {
        const check = h.github.checkRuns
          .filter((c) => c.external_id === `${execution}:${id}` && c.name.startsWith('Task '))
          .at(-1)!;
        return [id, `${check.conclusion}: ${check.output.title}`];
      }),
    );
    expect(checks).toEqual({
      '1.1': 'success: Completed and merged',
      '1.2': 'failure: Not merged',
      '1.3': 'failure: Failed',
      '1.4': 'failure: Failed',
    });
    const [pull] = h.github.createdPulls;
    expect(pull).toMatchObject({
      head: `integration/${execution}`,
      base: HEAD_REF,
      title: 'parallel-executor: Widgets plan (group 1)',
    });
    expect(pull!.body).toMatch(
      new RegExp(
        `^Integration of parallel-executor execution \`${execution}\` \\(group 1\\)\\.\n\n` +
          '\\*\\*Merged\\*\\*\n- `1\\.1`: Add feature A\n\n' +
          '\\*\\*Not merged\\*\\* \\(conflicts\\): `1\\.2`\n\n' +
          '\\| Task \\| Status \\| Duration \\| Cost \\|\n\\| --- \\| --- \\| --- \\| --- \\|\n' +
          '\\| 1\\.1 Add feature A \\| ✅ COMPLETE \\| [^|]+ \\| [^|]+ \\|\n' +
          '\\| 1\\.2 [^|]+ \\| 🚫 NOT MERGED \\| [^|]+ \\| [^|]+ \\|\n' +
          '\\| 1\\.3 [^|]+ \\| ❌ FAILED \\| [^|]+ \\| [^|]+ \\|\n' +
          '\\| 1\\.4 [^|]+ \\| ❌ FAILED \\| [^|]+ \\| [^|]+ \\|\n\n' +
          `Report: \`reports/${execution}\\.md\` · Started on #7 · \\[Workflow run\\]\\(https://\\S+\\)$`,
      ),
    );
    const comment = h.github.comments.find((c) =>
      c.body.startsWith(`<!-- parallel-executor:report-${execution} -->\n`),
    );
    expect(comment?.body).toMatch(
      new RegExp(
        `<sub>Execution \`${execution}\` · \\[Workflow run\\]\\(\\S+\\) · Integration PR #${pull!.number}</sub>\n$`,
      ),
    );

    const same = (text: string, id: string) =>
      text
        .split(id)
        .join('<execution>')
        .replace(/✅ [^\s)]+/g, '✅ <duration>');
    expect(same(byAction, execution)).toBe(same(byCli, document.executionId));
    expect(byApp).toBe(byAction);
    // What every shell writes, in the plan's own words.
    expect(same(byCli, document.executionId)).toMatch(/- \[x\] 1\.1: Add feature A .*✅/);
    expect(byCli).toContain(
      '1.2: Rewrite the shared file (Builder-2, 1h) ❌ failed (not integrated: merge conflict with task 1.1 in shared.txt)',
    );
    expect(byCli).toContain(
      '1.3: Break the tests (Builder-3, 1h) ❌ failed (validation failed: tests)',
    );
    expect(byCli).toContain(
      '1.4: Give up halfway (Builder-4, 1h) ❌ failed (agent exited with code 3',
    );
  }, 120_000);
});
