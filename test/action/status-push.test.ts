/**
 * A push to main that changes the plan starts a run, unless it only moved statuses: merging the
 * integration PR brings `[x]` and `❌ failed` marks to main, and running on that would redo the
 * wave that just landed (and retry failed tasks nobody asked to retry). Plan mode on a runner,
 * with the plan before the push read through the (mocked, OpenAPI-checked) contents API.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLegDirs } from './leg-fixture.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { writeBack } from '../../src/engine/plan/write-back.js';
import { useGitHubApi, type GitHubApiMock } from '../support/github-api.js';
import { retarget, webhookExample } from '../support/webhook-payloads.js';
import { createRemote, runStep } from './runner.js';

const API = 'https://ghe.example.com/api/v3';
const BEFORE = 'a'.repeat(40);
const PLAN = `# Multi-Agent Plan: Widgets

## Parallel Group 1: Basics
**Dependencies**: None

- [ ] 1.1: Add the widget (Builder-1, 1h)
  - [ ] A widget exists
- [ ] 1.2: Add the gadget (Builder-2, 1h)
  - [ ] A gadget exists

## Parallel Group 2: More
**Dependencies**: Group 1 complete

- [ ] 2.1: Connect widget and gadget (Builder-1, 1h)
  - [ ] They talk
`;

/**
 * The plan as the integration branch carries it after group 1 landed. On main, group 2 is then
 * ready: without the rule a run would start it again, though the next-wave dispatch already ran it
 * on the integration branch (or, after a failure, deliberately did not).
 */
const LANDED = writeBack(PLAN, parsePlan(PLAN).plan, {
  tasks: [
    { id: '1.1', outcome: 'completed', actualMs: 4_000 },
    { id: '1.2', outcome: 'completed', actualMs: 5_000 },
  ],
  groups: [{ id: '1', completed: true, actualMs: 5_000 }],
  reportPath: 'reports/pe-1-1.md',
});

describe('plan mode on a push to main', () => {
  const api = useGitHubApi({ baseUrl: API });
  const legs = useLegDirs('pe-status-push-');
  let dir: string;
  let home: string;
  beforeEach(async () => {
    ({ dir, home } = legs);
  });

  /** Plan mode on `main` at a commit whose plan is `after`, pushed on top of one whose plan is `before`. */
  async function planJob(gh: GitHubApiMock, before: string, after: string) {
    const remote = await createRemote(dir, { 'MULTI_AGENT_PLAN.md': after });
    gh.on(
      'GET',
      '/repos/acme/widgets/contents/MULTI_AGENT_PLAN.md',
      200,
      {
        type: 'file',
        encoding: 'base64',
        content: Buffer.from(before).toString('base64'),
        sha: 'blob1',
      },
      { query: { ref: BEFORE } },
    );
    const payload = retarget(webhookExample('push', 4), { owner: 'acme', repo: 'widgets' });
    Object.assign(payload, { ref: 'refs/heads/main', before: BEFORE, after: remote.sha });
    const eventPath = join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify(payload));
    return runStep({
      dir,
      home,
      remote,
      name: 'plan',
      ref: remote.sha,
      inputs: { mode: 'plan', plan: 'MULTI_AGENT_PLAN.md', 'github-token': 'ghs_token' },
      env: { GITHUB_API_URL: API, GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: eventPath },
    });
  }

  it('starts nothing when the push only brings the statuses of a landed run (a merged integration PR)', async () => {
    const gh = api();
    const job = await planJob(gh, PLAN, LANDED);
    expect(job.runtime.failed).toBeNull();
    expect(job.outputs).toMatchObject({ 'task-count': '0', matrix: '{"include":[]}' });
    expect(job.summary).toContain('changed only task statuses in MULTI\\_AGENT\\_PLAN.md');
    gh.assertDone();
  });

  it('runs the pending tasks when the push adds work to the plan', async () => {
    const gh = api();
    gh.on('POST', '/repos/acme/widgets/check-runs', 201, { id: 1 }, { persist: true });
    const grown = `${LANDED}\n## Parallel Group 3: Docs\n**Dependencies**: None\n\n- [ ] 3.1: Document the pair (Builder-2, 1h)\n  - [ ] A README section\n`;
    const job = await planJob(gh, LANDED, grown);
    expect(job.runtime.failed).toBeNull();
    expect(JSON.parse(job.outputs.matrix!)).toEqual({
      include: [{ task: '2.1' }, { task: '3.1' }],
    });
    gh.assertDone();
  });
});
