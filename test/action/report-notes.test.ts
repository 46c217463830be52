/**
 * The engine's notes on an integration (what its fields do not say: tests failing on the base, a
 * check that could not run) reach the report the integrate job writes, commits and shows, not
 * only PARALLEL_EXECUTION_STATUS.json: a real agent leg, then a real integrate step whose
 * integration tests fail on the base commit itself.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExecutionState } from '../../src/engine/state/schema.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { planText, repositoryFiles, writeAgent } from './e2e-fixture.js';
import { useLegDirs } from './leg-fixture.js';
import { createRemote, passArtifact, runStep, type Remote } from './runner.js';

const EXECUTION = 'pe-11-1';

describe("the integrate job's report", () => {
  const legs = useLegDirs('pe-report-notes-');
  let remote: Remote;

  beforeEach(async () => {
    const files = await repositoryFiles(planText('Add feature A', []));
    // The tasks' own checks pass; the integration tests fail whatever is merged, the base too.
    files['.github/parallel-executor.yml'] = files['.github/parallel-executor.yml']!.replace(
      'testCommand: node check.cjs',
      "testCommand: 'node check.cjs && exit 3'",
    );
    remote = await createRemote(legs.dir, files);
  });

  it('shows the integration notes the state holds', async () => {
    const { dir, home } = legs;
    const agent = await writeAgent(dir, { '1.1': { files: { 'a.txt': 'A\n' } } });
    const leg = await runStep({
      dir,
      home,
      remote,
      name: 'agent-1.1',
      ref: remote.sha,
      inputs: {
        mode: 'agent',
        task: '1.1',
        'execution-id': EXECUTION,
        agent: 'command',
        'agent-command': agent.command,
        'bundle-dir': join(dir, 'bundle-1.1'),
      },
      env: agent.env,
    });
    expect(leg.outputs.status).toBe('completed');
    await passArtifact(join(dir, 'bundle-1.1'), join(dir, 'artifacts'), '1.1');

    const resultDir = join(dir, 'result');
    const integrated = await runStep({
      dir,
      home,
      remote,
      name: 'integrate',
      ref: remote.sha,
      inputs: {
        mode: 'integrate',
        'execution-id': EXECUTION,
        'bundle-dir': join(dir, 'artifacts'),
        'result-dir': resultDir,
        'github-token': '',
      },
    });
    // Failing tests on the base blame no branch: 1.1 lands, and the job is red for the tests.
    expect(integrated.outputs.merged).toBe('["1.1"]');
    expect(integrated.runtime.failed).toMatch(/did not land every completed task/);

    const state = ExecutionState.parse(
      JSON.parse(await readFile(join(resultDir, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8')),
    );
    const notes = state.integration!.notes ?? [];
    expect(notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^The integration tests fail on the base commit ${remote.sha.slice(0, 12)} itself`,
        ),
      ),
    ]);
    // The report beside the state, the one committed on the integration branch and the job
    // summary all carry it, under the integration results.
    const report = await readFile(join(resultDir, 'report.md'), 'utf8');
    const section = report.slice(
      report.indexOf('## Integration Results'),
      report.indexOf('\n## ', report.indexOf('## Integration Results') + 1),
    );
    expect(section).toContain('- **Notes**: 1\n');
    expect(section).toContain(
      `The integration tests fail on the base commit ${remote.sha.slice(0, 12)} itself`,
    );
    expect(section).toContain('Fix the tests on the base, then integrate again.');
    expect(integrated.summary).toContain('- **Notes**: 1\n');
    const check = join(dir, 'check');
    await git(dir, ['clone', '-q', remote.bare, check]);
    await git(check, [
      'fetch',
      '-q',
      join(resultDir, 'result.bundle'),
      'refs/heads/*:refs/integrate/*',
    ]);
    const committed = (
      await git(check, [
        'show',
        `refs/integrate/parallel-executor/integrating/${EXECUTION}:${state.report_path}`,
      ])
    ).stdout;
    expect(committed).toContain('- **Notes**: 1\n');
  });
});
