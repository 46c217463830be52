import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { cli, writePlanJson } from './helpers.js';

const fx = useRepoAndScratch({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

/** An agent that starts by saying where it works (a long line), then fails with an error. */
const AGENT =
  'echo "[agent] session started in $PWD on branch $(git branch --show-current) with tools Read, Write, Edit, Bash, Glob, Grep, WebFetch and a model picked for the task $PE_TASK_ID"; ' +
  'echo "reading the code"; ' +
  'if [ "$PE_TASK_ID" = a ]; then echo "Error: cannot find module ./user-model from src/index.ts" >&2; exit 1; fi; ' +
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

const ERROR = 'Error: cannot find module ./user-model from src/index.ts';

describe('a failed task whose reason is long', () => {
  it('keeps the error, the end of the reason, where the reason is shortened', async () => {
    await writePlanJson(fx.repo.dir, plan([task('a'), task('b')]));
    const run = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', AGENT, '--json'],
      fx.repo.dir,
    );
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as {
      executionId: string;
      report: string;
      tasks: Array<{ id: string; reason: string | null }>;
    };
    const reason = doc.tasks.find((t) => t.id === 'a')!.reason!;
    // Long enough that every place that shortens it has to.
    expect(reason.length).toBeGreaterThan(300);
    expect(reason).toMatch(/^agent exited with code 1; last output: \[agent\] session started in /);
    expect(reason.endsWith(ERROR)).toBe(true);

    const report = await readFile(
      `${fx.repo.dir}/.parallel-executor/executions/${doc.executionId}/report.md`,
      'utf8',
    );
    const reasonLine = report.split('\n').find((line) => line.startsWith('- **Reason**:'))!;
    expect(reasonLine).toMatch(/^- \*\*Reason\*\*: agent exited with code 1; …/);
    expect(reasonLine).toContain('cannot find module ./user-model from src/index.ts');
    const failedLine = report.split('\n').find((line) => line.includes('**Failed**'))!;
    expect(failedLine).toContain('cannot find module ./user-model from src/index.ts');

    const clean = await cli(['clean', doc.executionId], fx.repo.dir);
    const kept = clean.stdout.split('\n').filter((line) => /^\s*kept\s+branch/.test(line));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toContain(`(a: failed (agent exited with code 1; …`);
    expect(kept[0]).toContain(`${ERROR}): kept for investigation`);
  });
});
