import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/engine/report/render.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { integrationPullRequest } from '../../src/github-run/integration-pull-request.js';
import { taskResult } from '../../src/github-run/task-result.js';
import { reportFixture } from '../report/fixture.js';

function withRisks(): ExecutionState {
  const state = reportFixture();
  state.integration!.risks = [
    {
      tasks: ['2.1', '2.3'],
      files: ['src/lib.ts', 'src/report.ts'],
      symbols: ['fmt'],
      reason: "2.1 changes fmt in src/lib.ts; 2.3's new code uses it (src/report.ts:4)",
      test: {
        files: ['test/a.test.ts', 'test/b.test.ts'],
        outcome: 'failed',
        outputFile: '/x/interaction-test-01.txt',
      },
    },
    {
      tasks: ['2.1', '2.2'],
      files: ['src/lib.ts'],
      symbols: ['Store.add'],
      reason: 'both change Store.add in src/lib.ts',
      note: 'repair failed (1 attempt): the interaction repair added no test of the combination (it changed src/lib.ts); the risk stands',
    },
  ];
  return state;
}

const CONFIRMED =
  "2.1 changes fmt in src/lib.ts; 2.3's new code uses it (src/report.ts:4) — ❌ **confirmed**: " +
  'their own new tests fail together (`test/a.test.ts`, `test/b.test.ts`)';
const UNREPAIRED =
  'both change Store.add in src/lib.ts — repair failed (1 attempt): the interaction repair added no test of the combination (it changed src/lib.ts); the risk stands';

describe('interaction risks in what people read', () => {
  it('the report (and so the PR report comment) lists each pair with its verdict', () => {
    const report = renderReport(withRisks());
    expect(report).toContain(
      [
        '- **Interaction Risks** (merge cleanly, may still break each other): 2',
        `  - 2.1 ↔ 2.3: ${CONFIRMED}`,
        `  - 2.1 ↔ 2.2: ${UNREPAIRED}`,
      ].join('\n'),
    );
    expect(renderReport(reportFixture())).not.toContain('Interaction Risks');
  });

  it('each task check run names the other task of its pairs', () => {
    const state = withRisks();
    expect(taskResult(state.tasks['2.1']!, state.integration).lines).toEqual(
      expect.arrayContaining([
        `**Interaction risk** with \`2.3\`: ${CONFIRMED}`,
        `**Interaction risk** with \`2.2\`: ${UNREPAIRED}`,
      ]),
    );
    expect(taskResult(state.tasks['2.3']!, state.integration).lines).toContain(
      `**Interaction risk** with \`2.1\`: ${CONFIRMED}`,
    );
    expect(taskResult(state.tasks['2.4']!, state.integration).lines.join('\n')).not.toContain(
      'Interaction risk',
    );
  });

  it('the integration PR body lists them for the reviewer', () => {
    const { body } = integrationPullRequest({
      state: withRisks(),
      base: 'main',
      planLabel: 'Plan',
      group: '2',
      pullRequest: null,
      runUrl: null,
    });
    expect(body).toContain(
      [
        '**Interaction risks** (merge cleanly, may still break each other)',
        `- \`2.1\` ↔ \`2.3\`: ${CONFIRMED}`,
        `- \`2.1\` ↔ \`2.2\`: ${UNREPAIRED}`,
      ].join('\n'),
    );
  });
});
