import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { cli, writePlanJson } from './helpers.js';

/** `npm test` is the tests check; it fails once a task has written broken.txt. */
const TEST_SCRIPT = [
  "const { existsSync } = require('node:fs');",
  "console.log('\\u001b[32m✓ adds an item\\u001b[39m');",
  "if (existsSync('broken.txt')) {",
  "  console.log('✗ a quantity of zero is rejected');",
  "  console.log('  expected 0 to be rejected');",
  '  process.exit(1);',
  '}',
].join('\n');

const fx = useRepoAndScratch({
  '.gitignore': 'plan.json\nnode_modules\n',
  'package.json': JSON.stringify({ name: 'x', private: true, scripts: { test: 'node test.js' } }),
  'test.js': TEST_SCRIPT,
});

const AGENT =
  'if [ "$PE_TASK_ID" = a ]; then echo x > broken.txt; else echo ok > "out-$PE_TASK_ID.txt"; fi';

describe('a task that fails its validation', () => {
  it('says which check failed once, with what its output says of the failure', async () => {
    await writePlanJson(fx.repo.dir, plan([task('a'), task('b')]));
    const run = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', AGENT, '--retries', '1', '--json'],
      fx.repo.dir,
    );
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as {
      executionId: string;
      tasks: Array<{ id: string; status: string; reason: string | null }>;
    };
    const a = doc.tasks.find((t) => t.id === 'a')!;
    expect(a.status).toBe('failed');
    // The lines that report the failure, colours gone; not npm's own lines, nor the passing test.
    expect(a.reason).toBe(
      'validation failed: tests; its output says: ✗ a quantity of zero is rejected | expected 0 to be rejected',
    );
    expect(a.reason).not.toContain('\u001b');

    const report = await readFile(
      join(fx.repo.dir, '.parallel-executor', 'executions', doc.executionId, 'report.md'),
      'utf8',
    );
    const failed = report.split('\n').find((line) => line.includes('**Failed**'))!;
    expect(failed.match(/validation failed/g)).toHaveLength(1);
    expect(failed).toContain('a quantity of zero is rejected');
  });
});
