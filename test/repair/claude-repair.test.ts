import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, task } from '../engine/helpers.js';
import { readState } from '../finish/helpers.js';
import { CLAUDE } from '../support/claude-cli.js';
import { useClaudeFixture } from '../support/claude-fixture.js';
import { checkInvariant, describe as describeReport } from '../support/invariant.js';
import { type RecordedRequest, type ScriptedReply } from '../support/scripted-model.js';

const USAGE = { input_tokens: 1000, output_tokens: 50 };

const claude = useClaudeFixture({
  '.gitignore': 'plan.json\n',
  'README.md': '# app\n',
  '.github/parallel-executor.yml': `agent:\n  kind: claude-code\n  binary: ${JSON.stringify(CLAUDE)}\n  allowedTools: [Read, Write, Edit, Bash]\n`,
});

const prompt = (request: RecordedRequest) => JSON.stringify(request.body?.['messages'] ?? '');

/** A turn that checks whose prompt it answers, then writes `shared.txt`. */
function write(expected: string, content: string): (request: RecordedRequest) => ScriptedReply {
  return (request) => {
    expect(prompt(request)).toContain(expected);
    const file = join(request.workingDirectory ?? '', 'shared.txt');
    return {
      blocks: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content } }],
      usage: USAGE,
    };
  };
}

const done = (text: string): ScriptedReply => ({ blocks: [{ type: 'text', text }], usage: USAGE });

describe('a repair by the real Claude Code CLI (scripted model)', () => {
  it('resolves a real conflict: the model writes the merged file, git adds and commits it', async () => {
    let repairPrompt = '';
    let repairDir = '';
    const model = await claude.startModel([
      write('Say c', 'c\n'),
      done('Wrote c.'),
      write('Say d', 'd\n'),
      done('Wrote d.'),
      (request) => {
        repairPrompt = prompt(request);
        repairDir = request.workingDirectory ?? '';
        expect(repairPrompt).toContain('Repair of task d');
        const file = join(repairDir, 'shared.txt');
        return {
          blocks: [{ type: 'tool_use', name: 'Read', input: { file_path: file } }],
          usage: USAGE,
        };
      },
      // What it read is the file with git's conflict markers in it.
      write('<<<<<<< HEAD', 'c and d\n'),
      {
        blocks: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: {
              command: 'git add shared.txt && git commit -q -m "Resolve the conflict of c and d"',
              description: 'Finish the merge',
            },
          },
        ],
        usage: USAGE,
      },
      done('Resolved the conflict and committed the merge.'),
    ]);
    await writePlanJson(
      claude.repo.dir,
      plan([
        task('c', { title: 'Say c', criteria: ['shared.txt says c'] }),
        task('d', { title: 'Say d' }),
      ]),
    );
    const env = claude.env(model.url);
    // claude-code repairs once by default; one agent at a time keeps the script in order.
    const result = await cli(
      ['run', '--plan', 'plan.json', '--concurrency', '1', '--json'],
      claude.repo.dir,
      env,
    );
    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      executionId: string;
      integration: { branch: string; merged: string[]; repairs: Array<Record<string, unknown>> };
    };
    expect(doc.integration.merged).toEqual(['c', 'd']);
    expect(doc.integration.repairs).toMatchObject([
      {
        taskId: 'd',
        kind: 'conflict',
        with: ['c'],
        files: ['shared.txt'],
        attempts: 1,
        outcome: 'merged',
      },
    ]);
    // What the repair cost is what the model said it used (4 turns).
    expect(doc.integration.repairs[0]).toMatchObject({ inputTokens: 4000, outputTokens: 200 });
    // The model worked in the repair worktree, on the merge left in progress, told what and why.
    expect(repairDir).toMatch(/repair-d-/);
    expect(repairPrompt).toContain('conflict markers are in `shared.txt`');
    expect(repairPrompt).toContain('### Task c: Say c');
    expect(repairPrompt).toContain('shared.txt says c');
    expect(repairPrompt).toContain('Conflict markers are never committed');
    const branch = doc.integration.branch;
    expect(await claude.repo.git(['show', `${branch}:shared.txt`])).toBe('c and d');
    const log = await claude.repo.git(['log', '--format=%s', branch]);
    expect(log).toContain('Resolve the conflict of c and d');
    const state = await readState(
      join(
        claude.repo.dir,
        '.parallel-executor',
        'executions',
        doc.executionId,
        'PARALLEL_EXECUTION_STATUS.json',
      ),
    );
    const agentCommit = await claude.repo.git([
      'log',
      '-1',
      '--format=%H',
      `--grep=Resolve the conflict`,
      branch,
    ]);
    const report = await checkInvariant({
      repoRoot: claude.repo.dir,
      state,
      ledger: [{ task: 'd-repair', commit: agentCommit }],
    });
    expect(report.ok, describeReport(report)).toBe(true);
  });
});
