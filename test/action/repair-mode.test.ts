/**
 * The Action's repair leg between two integrate steps, each on its own runner with real git: the
 * integrate job leaves a conflict out and names it in its `repairs` output; the repair leg (no
 * token, the agent's environment only) verifies the integrate job's result, runs a command agent
 * on the integration head with the conflicting branch merged in, and bundles the repaired branch;
 * a repair leg given a token refuses to run.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLegDirs } from './leg-fixture.js';
import { useGitHubApi } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { planText, repositoryFiles } from './e2e-fixture.js';
import { RepairFile } from '../../src/action/modes/repair.js';
import { ExecutionState } from '../../src/engine/state/schema.js';
import { integrationPullRequest } from '../../src/github-run/integration-pull-request.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { createRemote, passArtifact, passResult, runStep, type Remote } from './runner.js';

/** What each task's agent says it spent, and what the repair agent does. */
const TASK_SPENT = { input_tokens: 1_000, output_tokens: 100, cost_usd: 0.01 };
const REPAIR_SPENT = {
  input_tokens: 5_000,
  output_tokens: 300,
  cache_read_tokens: 2_000,
  cache_creation_tokens: 400,
  cost_usd: 0.25,
};

/**
 * A task writes its file; a repair (PE_REPAIR set) of the conflict in shared.txt keeps both
 * sides, finishes the merge, and records the names of its environment. Each says what it spent
 * in its status file, as an agent with no stream the tool reads does.
 */
const AGENT = `
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const id = process.env.PE_TASK_ID;
const spent = (usage) =>
  writeFileSync(process.env.PE_STATUS_FILE, JSON.stringify({ progress_percent: 100, usage }));
if (process.env.PE_REPAIR) {
  writeFileSync('shared.txt', 'from A\\nfrom B\\n');
  writeFileSync('repair-env.txt', Object.keys(process.env).sort().join('\\n') + '\\n');
  execFileSync('git', ['add', '-A']);
  execFileSync('git', ['commit', '-q', '--no-edit']);
  spent(${JSON.stringify(REPAIR_SPENT)});
  console.log('repaired ' + process.env.PE_REPAIR_OF + ' (' + process.env.PE_REPAIR + ')');
} else {
  writeFileSync('shared.txt', id === '1.1' ? 'from A\\n' : 'from B\\n');
  writeFileSync('task-' + id + '.txt', id + '\\n');
  spent(${JSON.stringify(TASK_SPENT)});
}
`;

describe('repair mode', () => {
  const api = useGitHubApi({ baseUrl: 'https://api.github.com' });
  const legs = useLegDirs('pe-repair-mode-');
  let dir: string;
  let home: string;
  let remote: Remote;
  let command: string;
  const EXECUTION = 'pe-9-1';

  beforeEach(async () => {
    ({ dir, home } = legs);
    const files = await repositoryFiles(planText('Add feature A', ['1.2']));
    // Repairs are off for command agents unless configured.
    files['.github/parallel-executor.yml'] += '  repair:\n    attempts: 1\n';
    remote = await createRemote(dir, files);
    await writeFile(
      join(dir, 'event.json'),
      JSON.stringify(
        asPullRequestComment(
          retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
          { number: 7, body: '/parallel-run', user: 'alice' },
        ),
      ),
    );
    await writeFile(join(dir, 'agent.mjs'), AGENT);
    command = `node ${join(dir, 'agent.mjs')}`;
    for (const id of ['1.1', '1.2']) {
      const leg = await runStep({
        dir,
        home,
        remote,
        name: `agent-${id}`,
        ref: remote.sha,
        inputs: {
          mode: 'agent',
          task: id,
          'execution-id': EXECUTION,
          agent: 'command',
          'agent-command': command,
          'bundle-dir': join(dir, `bundle-${id}`),
        },
      });
      expect(leg.outputs.status).toBe('completed');
      await passArtifact(join(dir, `bundle-${id}`), join(dir, 'artifacts'), id);
    }
  });

  const EVENT = () => ({
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_EVENT_NAME: 'issue_comment',
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
  });

  const integrateStep = () =>
    runStep({
      dir,
      home,
      remote,
      name: 'integrate',
      ref: remote.sha,
      inputs: {
        mode: 'integrate',
        'execution-id': EXECUTION,
        'bundle-dir': join(dir, 'artifacts'),
        'result-dir': join(dir, 'result'),
        'github-token': '',
      },
      env: EVENT(),
    });

  const repairStep = async (name: string, inputs: Record<string, string> = {}) => {
    await rm(join(dir, `${name}-result`), { recursive: true, force: true });
    await passResult(join(dir, 'result'), join(dir, `${name}-result`));
    return runStep({
      dir,
      home,
      remote,
      name,
      ref: remote.sha,
      inputs: {
        mode: 'repair',
        task: '1.2',
        'execution-id': EXECUTION,
        agent: 'command',
        'agent-command': command,
        'anthropic-api-key': 'sk-ant-agent-key',
        'result-dir': join(dir, `${name}-result`),
        'bundle-dir': join(dir, `${name}-bundle`),
        'github-token': '',
        ...inputs,
      },
      env: EVENT(),
    });
  };

  const integrateRepairsStep = async (repairs: string) => {
    await rm(join(dir, 'repaired-result'), { recursive: true, force: true });
    await passResult(join(dir, 'result'), join(dir, 'repaired-result'));
    return runStep({
      dir,
      home,
      remote,
      name: 'integrate-repairs',
      ref: remote.sha,
      inputs: {
        mode: 'integrate-repairs',
        'execution-id': EXECUTION,
        'bundle-dir': repairs,
        'result-dir': join(dir, 'repaired-result'),
        'github-token': '',
      },
      env: EVENT(),
    });
  };

  it('repairs a real conflict from the integrate result, with no token, into a bundle', async () => {
    const integrated = await integrateStep();
    expect(JSON.parse(integrated.outputs.merged!)).toEqual(['1.1']);
    expect(JSON.parse(integrated.outputs.conflicts!)).toEqual([
      { task: '1.2', files: ['shared.txt'] },
    ]);
    expect(JSON.parse(integrated.outputs.repairs!)).toEqual({
      include: [{ task: '1.2', kind: 'conflict' }],
    });
    // What it left out a repair leg now takes: the job is not red, and says why; the verdict
    // is the integrate-repairs job's.
    expect(integrated.runtime.failed).toBeNull();
    expect(integrated.outputs.status).toBe('repairing');
    expect(JSON.parse(integrated.outputs['left-out']!)).toEqual([
      { task: '1.2', reason: expect.stringContaining('merge conflict with task 1.1') },
    ]);
    expect(integrated.runtime.annotations).toContainEqual(
      expect.objectContaining({
        level: 'notice',
        message: expect.stringContaining('handed to a repair leg (repairs: 1.2 (conflict))'),
      }),
    );
    expect(integrated.summary).toContain('handed to a repair leg (repairs: 1.2 (conflict))');
    // The two task agents' spending, before any repair.
    expect(JSON.parse(integrated.outputs.usage!)).toEqual({
      inputTokens: 2_000,
      outputTokens: 200,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
      costUsd: expect.closeTo(0.02, 9),
    });

    const leg = await repairStep('repair-1.2');
    expect(leg.runtime.failed).toBeNull();
    expect(leg.outputs.status).toBe('repaired');
    const file = RepairFile.parse(
      JSON.parse(await readFile(join(dir, 'repair-1.2-bundle', 'repair.json'), 'utf8')),
    );
    expect(file).toMatchObject({ task_id: '1.2', kind: 'conflict', problem: null });
    // What the repair agent said it spent travels with the bundle.
    expect(file.usage).toEqual(REPAIR_SPENT);
    expect(leg.outputs.branch).toBe(file.branch);
    const result = JSON.parse(await readFile(join(dir, 'result', 'result.json'), 'utf8')) as {
      integration: { head_sha: string };
      task_branches: Array<{ task_id: string; head_sha: string }>;
    };
    expect(file.base_sha).toBe(result.integration.head_sha);

    // The bundle, read in a clone of the remote: the repaired branch holds both
    // sides, the integration head and the task's own commits, and no conflict marker.
    const check = join(dir, 'check');
    await git(dir, ['clone', '-q', remote.bare, check]);
    const bundle = join(dir, 'repair-1.2-bundle', 'repair.bundle');
    // It needs the integration head, from the integrate job's bundle, as the next integrate step has it.
    await git(check, [
      'fetch',
      '-q',
      join(dir, 'result', 'result.bundle'),
      'refs/heads/*:refs/integrate/*',
    ]);
    await git(check, ['fetch', '-q', bundle, `refs/heads/${file.branch}:refs/repaired`]);
    expect((await git(check, ['rev-parse', 'refs/repaired'])).stdout.trim()).toBe(file.head_sha);
    expect((await git(check, ['show', 'refs/repaired:shared.txt'])).stdout).toBe(
      'from A\nfrom B\n',
    );
    const task12 = result.task_branches.find((t) => t.task_id === '1.2')!.head_sha;
    for (const sha of [file.base_sha, task12]) {
      const contained = await git(check, ['merge-base', '--is-ancestor', sha, 'refs/repaired'], {
        allowExitCodes: [1],
      });
      expect(contained.exitCode).toBe(0);
    }
    // The agent held no token of any kind.
    const keys = (await git(check, ['show', 'refs/repaired:repair-env.txt'])).stdout.split('\n');
    expect(keys).toContain('PE_REPAIR');
    expect(keys).toContain('PE_REPAIR_OF');
    for (const name of [
      'GITHUB_TOKEN',
      'GH_TOKEN',
      'ACTIONS_RUNTIME_TOKEN',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'INPUT_GITHUB-TOKEN',
    ]) {
      expect(keys).not.toContain(name);
    }

    // The second integrate step (download-artifact, `pattern: repair-*`): the repair bundle verified, integrated on the integration branch.
    await passResult(join(dir, 'repair-1.2-bundle'), join(dir, 'repairs', 'repair-1.2'));
    const again = await integrateRepairsStep(join(dir, 'repairs'));
    expect(again.runtime.failed).toBeNull();
    expect(again.outputs.status).toBe('completed');
    expect(JSON.parse(again.outputs.merged!)).toEqual(['1.1', '1.2']);
    expect(JSON.parse(again.outputs.conflicts!)).toEqual([]);
    const repaired = JSON.parse(
      await readFile(join(dir, 'repaired-result', 'result.json'), 'utf8'),
    ) as { status: string; integration: { head_sha: string } };
    expect(repaired.status).toBe('completed');
    const state = ExecutionState.parse(
      JSON.parse(
        await readFile(join(dir, 'repaired-result', 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
      ),
    );
    expect(state.integration!.repairs).toEqual([
      expect.objectContaining({
        taskId: '1.2',
        kind: 'conflict',
        outcome: 'merged',
        with: ['1.1'],
        branch: file.branch,
        inputTokens: 5_000,
        outputTokens: 300,
        costUsd: 0.25,
      }),
    ]);
    // The repair agent counts in its task and in the run's totals: the outputs and the report.
    expect(state.tasks['1.2']!.usage).toEqual({
      input_tokens: 6_000,
      output_tokens: 400,
      cache_read_tokens: 2_000,
      cache_creation_tokens: 400,
      cost_usd: expect.closeTo(0.26, 9),
    });
    const total = {
      inputTokens: 7_000,
      outputTokens: 500,
      cacheReadTokens: 2_000,
      cacheCreationTokens: 400,
      costUsd: expect.closeTo(0.27, 9),
    };
    expect(JSON.parse(again.outputs.usage!)).toEqual(total);
    expect(Number(again.outputs['cost-usd'])).toBeCloseTo(0.27, 9);
    const report = await readFile(join(dir, 'repaired-result', 'report.md'), 'utf8');
    expect(report).toContain(
      '- **Tokens / Cost**: 7,000 in (+2,000 cache read, 400 cache write) / 500 out tokens · $0.27 (reported by 2 task(s))',
    );
    // The new integration head holds the repair and the report and plan committed again on it.
    const after = join(dir, 'after');
    await git(dir, ['clone', '-q', remote.bare, after]);
    await git(after, [
      'fetch',
      '-q',
      join(dir, 'repaired-result', 'result.bundle'),
      'refs/heads/*:refs/integrate/*',
    ]);
    const tip = repaired.integration.head_sha;
    expect((await git(after, ['show', `${tip}:shared.txt`])).stdout).toBe('from A\nfrom B\n');
    const ancestor = await git(after, ['merge-base', '--is-ancestor', file.head_sha!, tip], {
      allowExitCodes: [1],
    });
    expect(ancestor.exitCode).toBe(0);
    const plan = (await git(after, ['show', `${tip}:MULTI_AGENT_PLAN.md`])).stdout;
    expect(plan).toMatch(/- \[x\] 1\.2:/);
    expect(again.summary).toMatch(/repair/i);

    // The publish job takes the rewritten result as it takes the integrate job's, and pushes the
    // repaired integration branch (under the GitHub App it sends GitHub nothing).
    const gh = api();
    await passResult(join(dir, 'repaired-result'), join(dir, 'publish-result'));
    const published = await runStep({
      dir,
      home,
      remote,
      name: 'publish',
      ref: remote.sha,
      inputs: {
        mode: 'publish',
        'execution-id': EXECUTION,
        'result-dir': join(dir, 'publish-result'),
        'github-token': 'ghs_token',
        'app-managed': 'true',
        'pr-number': '7',
      },
      env: EVENT(),
    });
    expect(gh.requests).toEqual([]);
    expect(published.runtime.failed).toBeNull();
    expect(published.outputs.merged).toBe('["1.1","1.2"]');
    expect(JSON.parse(published.outputs.usage!)).toEqual(total);
    expect(Number(published.outputs['cost-usd'])).toBeCloseTo(0.27, 9);
    // The integration PR the action opens when it manages the run shows the task's cost with it.
    const body = integrationPullRequest({
      state,
      base: 'main',
      planLabel: 'plan',
      group: 'all',
      pullRequest: 7,
      runUrl: null,
    }).body;
    expect(body).toMatch(/\| 1\.2 [^|]*\| [^|]+\| [^|]+\| \$0\.26 \|/);
    expect(await remote.git(['rev-parse', `integration/${EXECUTION}`])).toBe(tip);
  });

  it('integrates no repair whose bundle claims a branch that is not the repair branch', async () => {
    await integrateStep();
    const leg = await repairStep('repair-1.2');
    expect(leg.outputs.status).toBe('repaired');
    const repairs = join(dir, 'repairs');
    await passResult(join(dir, 'repair-1.2-bundle'), join(repairs, 'repair-1.2'));
    const path = join(repairs, 'repair-1.2', 'repair.json');
    const claimed = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...claimed, branch: 'main' }));
    const again = await integrateRepairsStep(repairs);
    expect(again.runtime.failed).toMatch(/did not land every completed task/);
    expect(again.runtime.annotations.map((a) => a.message).join('\n')).toMatch(
      /repair of task 1\.2 refused: branch main is not a repair branch of /,
    );
    expect(JSON.parse(again.outputs.merged!)).toEqual(['1.1']);
    expect(JSON.parse(again.outputs.conflicts!)).toEqual([{ task: '1.2', files: ['shared.txt'] }]);
    const state = JSON.parse(
      await readFile(join(dir, 'repaired-result', 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
    ) as { integration: { repairs: Array<Record<string, unknown>> } };
    expect(state.integration.repairs).toEqual([
      expect.objectContaining({ taskId: '1.2', outcome: 'failed' }),
    ]);
  });

  it('stays red when something no repair mends went wrong too, and still queues the repairs', async () => {
    // An agent artifact with no task.json in it: nothing a repair leg could take.
    await mkdir(join(dir, 'artifacts', 'agent-1.9'));
    const integrated = await integrateStep();
    expect(JSON.parse(integrated.outputs.repairs!)).toEqual({
      include: [{ task: '1.2', kind: 'conflict' }],
    });
    expect(integrated.outputs.status).toBe('failed');
    expect(integrated.runtime.failed).toMatch(/did not land every completed task/);
    expect(integrated.runtime.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        message: 'bundle agent-1.9 ignored: no task.json',
      }),
    );
    expect(integrated.runtime.annotations.map((a) => a.level)).not.toContain('notice');
  });

  it('refuses to run when given a token, and runs no agent', async () => {
    await integrateStep();
    const leg = await repairStep('repair-token', { 'github-token': 'ghs_write_token' });
    expect(leg.runtime.failed).toMatch(
      /repair mode .* must hold no token, but it was given INPUT_GITHUB-TOKEN/,
    );
    await expect(readFile(join(dir, 'repair-token-bundle', 'repair.json'))).rejects.toThrow();
  });

  it('skips a task the result has nothing to repair for', async () => {
    await integrateStep();
    const leg = await repairStep('repair-1.1', { task: '1.1' });
    expect(leg.runtime.failed).toBeNull();
    expect(leg.outputs.status).toBe('skipped');
  });
});
