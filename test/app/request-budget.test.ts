import { afterEach, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/app/app.js';
import { HEAD_SHA, PLAN_PATH, startHarness, type Harness } from './support/app-harness.js';
import { planWithTasks } from './support/plans.js';
import { COALESCING_OFF, driveExecution } from './support/realistic-run.js';

/** What users see at the end: every check run (id aside) and the dashboard comment. */
function finalView(h: Harness) {
  const checks = h.github
    .checkRunsFor(HEAD_SHA)
    .map((c) => ({
      name: c.name,
      status: c.status,
      conclusion: c.conclusion,
      detailsUrl: c.details_url,
      externalId: c.external_id,
      output: c.output,
      actions: c.actions,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const dashboard = h.github.comments.find((c) =>
    c.body.includes('<!-- parallel-executor:dashboard -->'),
  )!.body;
  return { checks, dashboard };
}

describe('GitHub requests per execution', () => {
  const harnesses: Harness[] = [];
  afterEach(() => harnesses.splice(0).forEach((h) => h.close()));

  async function execute(tasks: number, options: AppOptions) {
    const h = await startHarness(options);
    harnesses.push(h);
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, planWithTasks(tasks));
    await driveExecution(h, planWithTasks(tasks));
    await h.settle();
    h.gh.assertDone();
    return { requests: h.gh.requests.length, writes: h.github.writes().length, ...finalView(h) };
  }

  it('stays within 4N + 20 requests and 3N + 10 content-creating ones, and ends as writing every update would', async () => {
    const n = 3;
    const coalesced = await execute(n, {});
    const everyUpdate = await execute(n, COALESCING_OFF);

    expect(coalesced.requests).toBeLessThanOrEqual(4 * n + 20);
    expect(coalesced.writes).toBeLessThanOrEqual(3 * n + 10);
    // Coalescing is what keeps it there: written at once, the same run costs more.
    expect(everyUpdate.writes).toBeGreaterThan(3 * n + 10);

    // Nobody loses anything: one check run per task plus the summary, as final as before.
    expect(coalesced.checks.map((c) => c.name)).toEqual([
      'parallel-executor',
      'Task 1.1: Task number 1',
      'Task 1.2: Task number 2',
      'Task 1.3: Task number 3',
    ]);
    expect(coalesced.checks.every((c) => c.status === 'completed')).toBe(true);
    expect(coalesced.checks).toEqual(everyUpdate.checks);
    expect(coalesced.dashboard).toEqual(everyUpdate.dashboard);
    expect(coalesced.dashboard).toMatch(/1\.3 Task number 3 .*✅ complete/);
  });

  it('stays within the budget at each size bench/app-requests measures, the tightest (1 task) too', async () => {
    for (const n of [1, 4, 16]) {
      const { requests, writes } = await execute(n, {});
      expect(requests, `${n} task(s): requests`).toBeLessThanOrEqual(4 * n + 20);
      expect(writes, `${n} task(s): content-creating`).toBeLessThanOrEqual(3 * n + 10);
    }
  });
});
