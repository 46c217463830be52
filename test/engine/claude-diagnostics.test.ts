import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/cli/run-output.js';
import { taskOutcome } from '../../src/engine/report/outcome.js';
import { renderReport } from '../../src/engine/report/render.js';
import { executionSummary } from '../../src/engine/run/summary.js';
import { taskResult } from '../../src/github-run/task-result.js';
import { useClaudeFixture } from '../support/claude-fixture.js';
import { plan, runPlan, task } from './helpers.js';

const claude = useClaudeFixture();

describe('agent diagnostics from the real Claude Code CLI (scripted model)', () => {
  it('an API retry and a denied Bash call reach the summary, the report and --json; the task is not a clean success', async () => {
    const model = await claude.startModel([
      { status: 529, errorType: 'overloaded_error', message: 'Overloaded', retryAfter: 1 },
      {
        blocks: [
          { type: 'text', text: 'Running the tests first.' },
          { type: 'tool_use', name: 'Bash', input: { command: 'npm test', description: 'tests' } },
        ],
      },
      (request) => ({
        blocks: [
          {
            type: 'tool_use',
            name: 'Write',
            input: {
              file_path: join(request.workingDirectory ?? '', 'notes.txt'),
              content: 'could not run the tests\n',
            },
          },
        ],
      }),
      { blocks: [{ type: 'text', text: 'Wrote notes.txt; tests not run.' }] },
    ]);
    const env = claude.env(model.url);
    const { state, stateFile, events } = await runPlan(
      claude.repo.dir,
      plan([task('1.1', { title: 'Test and note' })]),
      '',
      {
        runner:
          // Bash is not allowed: Claude Code refuses the call (print mode cannot ask).
          claude.runner(env, ['Read', 'Write']),
        env,
      },
    );

    const run = state.tasks['1.1']!;
    expect(run.status).toBe('completed');
    expect(await claude.repo.git(['show', `${run.branch}:notes.txt`])).toBe(
      'could not run the tests',
    );
    const diagnostics = run.diagnostics ?? [];
    expect(diagnostics.some((line) => /^API error 529 .*retry 1\//.test(line))).toBe(true);
    expect(diagnostics).toContain('permission denied: Bash: npm test');
    // Said once, though Claude Code reports it in the tool result and in its final list.
    expect(diagnostics.filter((line) => line.startsWith('permission denied'))).toHaveLength(1);
    expect(taskOutcome(run, null)).toBe('COMPLETE_WITH_WARNINGS');
    // Tokens reached the live view while the agent ran, before the task finished.
    const types = events.map((e) => (e.type === 'task-status' ? `status:${e.status}` : e.type));
    expect(types.indexOf('task-usage')).toBeGreaterThan(types.indexOf('status:in_progress'));
    expect(types.indexOf('task-usage')).toBeLessThan(types.indexOf('status:collecting'));
    expect(run.usage?.output_tokens).toBeGreaterThan(0);

    const json = executionSummary(state).tasks[0]!;
    expect(json.outcome).toBe('COMPLETE_WITH_WARNINGS');
    expect(json.diagnostics).toEqual(diagnostics);
    expect(json.warnings.join('\n')).toContain('1 tool call was denied (Bash: npm test)');

    const summary = formatSummary(state, stateFile);
    expect(summary).toMatch(/✔ 1\.1 complete with warnings/);
    expect(summary).toContain('      ! 1 tool call was denied (Bash: npm test)');
    expect(summary).toContain('      agent: permission denied: Bash: npm test');
    expect(summary).toMatch(/ {6}agent: API error 529 /);

    // The task's check run says so too.
    const check = taskResult(run, {
      strategy: 'batch-bisect',
      branch: 'integration/x',
      baseSha: state.base_sha,
      headSha: state.base_sha,
      merged: ['1.1'],
      conflicts: [],
      dropped: [],
      predictedConflicts: [],
      testRuns: 0,
      testsPassed: null,
      testCommand: null,
    });
    expect(check.title).toBe('Completed with warnings');
    expect(check.lines).toContain(
      '**Warning**: 1 tool call was denied (Bash: npm test): the work may be incomplete; allow the tool in agent.allowedTools',
    );

    const report = renderReport(state);
    expect(report).toContain('- **Agent Diagnostics**: ');
    expect(report).toContain('permission denied: Bash: npm test');
    expect(report).toContain('1 tool call was denied (Bash: npm test)');
    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
  });
});
