import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

/** Writes coverage/coverage-summary.json with the percentage in pct.txt, as c8 would, and exits 0. */
const COVERAGE = `const fs = require('fs');
fs.mkdirSync('coverage', { recursive: true });
const pct = Number(fs.readFileSync('pct.txt', 'utf8'));
fs.writeFileSync('coverage/coverage-summary.json', JSON.stringify({ total: { lines: { pct } } }));
console.log('All files | ' + pct + ' |');
`;

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\ncoverage\n',
      'cov.cjs': COVERAGE,
      'pct.txt': '95\n',
      '.github/parallel-executor.yml': [
        'validation:',
        '  tests: "true"',
        '  coverage: node cov.cjs',
        '  critical: [tests, coverage]',
        '  minCoverage: 90',
        'integration:',
        '  repair:',
        '    attempts: 1',
        '    on: [validation]',
        '',
      ].join('\n'),
    },
  });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('a repair that leaves the coverage below the minimum', () => {
  // Seen on is-number with c8: the failed repair said only "fails its validation: coverage".
  it('says by how much, as the task’s own failure does', async () => {
    await writePlanJson(repo.dir, plan([task('v')]));
    const agent = `if [ -n "$PE_REPAIR" ]; then echo 80 > pct.txt; else echo 70 > pct.txt; fi
      git add -A && git commit -qm "v $PE_REPAIR"`;
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', agent, '--json'],
      repo.dir,
    );
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as {
      tasks: Array<{ id: string; reason: string | null }>;
      integration: { repairs: Array<{ taskId: string; outcome: string; reason: string | null }> };
    };
    expect(doc.tasks[0]!.reason).toBe(
      'validation failed: coverage; 70% of lines covered, below the minimum 90% (coverage/coverage-summary.json)',
    );
    expect(doc.integration.repairs).toMatchObject([
      {
        taskId: 'v',
        outcome: 'failed',
        reason:
          'the repaired branch fails its validation: coverage; 80% of lines covered, below the minimum 90% (coverage/coverage-summary.json)',
      },
    ]);
  });
});
