import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { CLI_PROCESS, cli, writePlanJson } from './helpers.js';
import { waitFor } from '../support/wait.js';

const fx = useRepoAndScratch({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

/** a completes; b and c fail. */
const AGENT = 'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"; [ "$PE_TASK_ID" = a ]';

async function stateOnDisk(): Promise<ExecutionState> {
  const dir = join(fx.repo.dir, '.parallel-executor', 'executions');
  const [id] = await readdir(dir);
  return JSON.parse(
    await readFile(join(dir, id!, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
  ) as ExecutionState;
}

describe('Ctrl-C during integration', () => {
  it('offers a plain resume first, which finishes the integration', async () => {
    // The integration tests wait until the test lets them pass; they say when they start.
    const started = fx.box.file('started');
    const pass = fx.box.file('pass');
    const tests = `if [ ! -e '${pass}' ]; then touch '${started}'; sleep 30; fi`;
    await fx.repo.write(
      '.github/parallel-executor.yml',
      `integration:\n  testCommand: ${JSON.stringify(tests)}\n`,
    );
    await fx.repo.commit('config');
    await writePlanJson(fx.repo.dir, plan([task('a'), task('b'), task('c')]));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
      { cwd: fx.repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    orchestrator.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(orchestrator, 'exit');
    await waitFor(async () =>
      access(started).then(
        () => true,
        () => null,
      ),
    );
    orchestrator.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(130);

    const id = (await stateOnDisk()).execution_id;
    expect(stdout).toContain('Integration did not finish: stopped by the user during integration');
    const next = stdout.slice(stdout.indexOf('Next steps:')).split('\n').slice(1);
    expect(next[0]).toBe(
      `  - finish the integration of a, which did not finish:  parallel-executor resume ${id}`,
    );
    expect(next[1]).toBe(
      `  - retry b, c after a fix:  parallel-executor resume ${id} --retry-failed`,
    );
    const report = await readFile(
      join(fx.repo.dir, '.parallel-executor', 'executions', id, 'report.md'),
      'utf8',
    );
    expect(report).toContain(
      `- [ ] Finish the integration of a, which did not finish: \`parallel-executor resume ${id}\``,
    );

    // The step does what it says: no agent runs again, a lands on an integration branch.
    await writeFile(pass, '');
    const resumed = await cli(['resume', id], fx.repo.dir, env);
    expect(resumed.stderr).not.toMatch(/no task is left to run/);
    const after = await stateOnDisk();
    expect(after.integration?.merged).toEqual(['a']);
    expect(after.tasks['b']!.status).toBe('failed');
  });
});

describe('clean --force between Ctrl-C during integration and resume', () => {
  // clean --force deleted a's unmerged branch (its work kept under a ref first); the resume then
  // dropped a ("branch not found") and its next steps said to git merge the deleted branch.
  it('makes the completed task branch again from its kept ref, and the integration merges it', async () => {
    const started = fx.box.file('started');
    const pass = fx.box.file('pass');
    const tests = `if [ ! -e '${pass}' ]; then touch '${started}'; sleep 30; fi`;
    await fx.repo.write(
      '.github/parallel-executor.yml',
      `integration:\n  testCommand: ${JSON.stringify(tests)}\n`,
    );
    await fx.repo.commit('config');
    await writePlanJson(fx.repo.dir, plan([task('a'), task('b')]));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
      { cwd: fx.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit');
    await waitFor(async () =>
      access(started).then(
        () => true,
        () => null,
      ),
    );
    orchestrator.kill('SIGINT');
    await exited;
    const stopped = await stateOnDisk();
    const id = stopped.execution_id;
    const a = stopped.tasks['a']!;

    const cleaned = await cli(['clean', id, '--force'], fx.repo.dir, env);
    expect(cleaned.stdout).toContain(`removed branch   ${a.branch}`);
    const kept = (await stateOnDisk()).tasks['a']!.kept_refs!.at(-1)!.ref;

    await writeFile(pass, '');
    const resumed = await cli(['resume', id], fx.repo.dir, env);
    const out = resumed.stdout + resumed.stderr;
    expect(out).toContain(
      `its branch ${a.branch} had been deleted (clean --force before the execution finished); made again at ${a.head_sha!.slice(0, 12)}`,
    );
    expect(out).toContain(`which ${kept} holds`);
    expect(out).not.toContain(`git merge --no-ff ${a.branch}`);
    // b (failed) is listed as kept, but clean --force removed its branch, log and outputs: named
    // as kept there before, they are not named now.
    const b = stopped.tasks['b']!;
    const keptPart = out.slice(out.indexOf('Kept for you to look at'));
    expect(keptPart).toContain('  b: agent exited with code 1');
    for (const gone of [b.branch, b.log_file, b.output_dir]) expect(keptPart).not.toContain(gone);
    const after = await stateOnDisk();
    expect(after.integration?.merged).toEqual(['a']);
    expect(await fx.repo.git(['show', `${after.integration!.branch}:out-a.txt`])).toBe('a');
  });
});
