import { describe, expect, it } from 'vitest';
import type { RepairRecord } from '../../src/engine/integrate/schema.js';
import { renderDashboard, renderDashboardMarkdown } from '../../src/engine/monitor/dashboard.js';
import { renderIntegrationSection } from '../../src/engine/report/integration-section.js';
import { integrationPullRequest } from '../../src/github-run/integration-pull-request.js';
import { reportFixture } from '../report/fixture.js';

const REPAIRS: RepairRecord[] = [
  {
    taskId: '2.2',
    kind: 'conflict',
    attempts: 1,
    outcome: 'merged',
    with: ['2.1'],
    files: ['src/config.js'],
    branch: 'agent/b2/2-2-repair',
    reason: null,
    keptRefs: ['refs/parallel-executor/x/2.2-repair/attempt-1'],
    durationMs: 12_000,
    inputTokens: 3000,
    outputTokens: 200,
    costUsd: 0.04,
  },
  {
    taskId: '2.3',
    kind: 'validation',
    attempts: 2,
    outcome: 'failed',
    with: [],
    files: [],
    branch: 'agent/v1/2-3-repair-2',
    reason: 'the repaired branch fails its validation: tests',
    keptRefs: [],
    durationMs: 3_000,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
  },
  {
    taskId: '2.5',
    kind: 'interaction',
    attempts: 1,
    outcome: 'merged',
    with: ['2.1'],
    files: ['src/lib.ts'],
    branch: 'agent/b3/2-5-repair',
    reason: null,
    keptRefs: [],
    durationMs: 5_000,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
  },
];

function withRepairs() {
  const state = reportFixture();
  state.integration = { ...state.integration!, repairs: REPAIRS };
  return state;
}

describe('repairs in the outputs', () => {
  it('are rows of their own on the dashboard, terminal and Markdown', () => {
    const state = withRepairs();
    const text = renderDashboard(state, { now: new Date(state.finished_at!), width: 200 });
    expect(text).toContain(
      '↻ repair of 2.2 (conflict) — ✅ merged, 1 attempt, 12s, 3,200 tokens, $0.04',
    );
    expect(text).toContain(
      '↻ repair of 2.3 (validation) — ❌ the repaired branch fails its validation: tests, 2 attempts, 3s',
    );
    expect(text).toContain('↻ repair of 2.5 (interaction) — ✅ merged, 1 attempt, 5s');
    const markdown = renderDashboardMarkdown(state);
    expect(markdown).toMatch(/\| 2\.5 repair \(interaction\) \| .* \| ✅ merged \|/);
    expect(markdown).toMatch(/\| 2\.2 repair \(conflict\) \| .* \| ✅ merged \|/);
    expect(markdown).toMatch(/\| 2\.3 repair \(validation\) \| .* \| ❌ not repaired \|/);
    // Without repairs, nothing is added.
    expect(renderDashboard(reportFixture(), { now: new Date(), width: 200 })).not.toContain(
      'repair of',
    );
  });

  it('say in the report and the PR which tasks were repaired, how, and what it cost', () => {
    const state = withRepairs();
    const section = renderIntegrationSection(state).join('\n');
    expect(section).toContain('- **Repairs**: 2 of 3 handed back to an agent and merged');
    // The interaction repair's task was never left out: it is not counted among those.
    expect(section).toContain(
      '- **Dropped Branches**: 1 (and 1 repaired by an agent, under Repairs)',
    );
    expect(section).toContain(
      '2.5: merged, repaired after an interaction risk with 2.1 in src/lib.ts in 1 attempt (5s)',
    );
    expect(section).toContain(
      // (`$` escaped: GitHub would read it as math.)
      '2.2: merged, repaired after a merge conflict with 2.1 in src/config.js in 1 attempt (12s, 3,200 tokens, \\$0.04)',
    );
    expect(section).toContain('2.3: not repaired after its failed validation (2 attempts)');
    const pr = integrationPullRequest({
      state,
      base: 'main',
      planLabel: 'Plan',
      group: 'all',
      pullRequest: null,
      runUrl: null,
    });
    expect(pr.body).toContain('**Repaired** (handed back to an agent)');
    expect(pr.body).toContain('2.2: merged, repaired after a merge conflict with 2.1');
    expect(pr.body).toContain('2.5: merged, repaired after an interaction risk with 2.1');
  });
});
