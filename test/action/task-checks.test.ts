import { describe, expect, it } from 'vitest';
import { completeTaskCheckRuns } from '../../src/action/integrate/publish.js';
import { silentLogger } from '../../src/engine/ports/logger.js';
import { taskCheckName } from '../../src/forge/check-names.js';
import { createGitHubForge } from '../../src/forge/github.js';
import { createOctokit } from '../../src/forge/octokit.js';
import { reportFixture } from '../report/fixture.js';
import { useGitHubApi } from '../support/github-api.js';
import { fakeTime } from '../support/fake-time.js';

const SHA = 'a'.repeat(40);
const REPO = '/repos/acme/widgets';

function checkRun(id: number, name: string, externalId: string) {
  return {
    id,
    name,
    head_sha: SHA,
    status: 'queued',
    conclusion: null,
    external_id: externalId,
    details_url: null,
    html_url: null,
    output: { title: 'Queued', summary: '' },
  };
}

describe("the publish job's task check runs", () => {
  const api = useGitHubApi();

  it('completes the one the plan job made, not one of the same name and id made after it', async () => {
    const gh = api();
    const time = fakeTime();
    const forge = createGitHubForge({
      octokit: createOctokit({ token: 'test-token', baseUrl: gh.baseUrl }),
      owner: 'acme',
      repo: 'widgets',
      clock: time.clock,
      sleep: time.sleep,
      logger: silentLogger,
    });
    const state = structuredClone(reportFixture());
    state.task_order = ['2.1'];
    const task = state.tasks['2.1']!;
    const name = taskCheckName({ id: '2.1', title: task.task });
    const external = `${state.execution_id}:2.1`;
    // A job that ran agent-written code with a checks token made a look-alike, listed first.
    gh.on('GET', `${REPO}/commits/${SHA}/check-runs`, 200, {
      total_count: 2,
      check_runs: [checkRun(900, name, external), checkRun(100, name, external)],
    });
    const patched: number[] = [];
    gh.on('PATCH', `${REPO}/check-runs/{check_run_id}`, 200, (req) => {
      patched.push(Number(req.params.check_run_id));
      return { id: Number(req.params.check_run_id) };
    });
    expect(await completeTaskCheckRuns(forge, state, SHA, silentLogger)).toBe(1);
    expect(patched).toEqual([100]);
  });
});
