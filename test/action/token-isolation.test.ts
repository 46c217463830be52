/**
 * The integrate job runs the integration tests — code the agents wrote — so nothing that code
 * starts may find a credential: not in its own environment, and not in `/proc/<pid>/environ` of its
 * parent or any ancestor, which Linux lets a process of the same user read (that is how tokens
 * leaked from other agent actions). The built action runs here as a runner runs it, a separate
 * Node process, and the integration test command is a probe that walks its ancestors up to pid 1.
 * Given a job token, integrate mode refuses to run at all; given only what a runner always hands
 * a JavaScript action (the Actions runtime token), it removes it from its own initial environment
 * before the tests start.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLegDirs } from './leg-fixture.js';
import { planText, writeAgent } from './e2e-fixture.js';
import {
  checkout,
  createRemote,
  inputEnv,
  passArtifact,
  readOutputs,
  runStep,
  stepFiles,
  testGitEnv,
  type Remote,
} from './runner.js';

const ROOT = join(import.meta.dirname, '..', '..');
const execute = promisify(execFile);
const RUNTIME_TOKEN = 'runtime-token-7f3a9c-secret';
const WRITE_TOKEN = 'ghs_write_token_5b1e-secret';

/** Walks from its parent to pid 1 and records where it finds a secret. */
const PROBE = (out: string) => `
const fs = require('node:fs');
const secrets = ${JSON.stringify([RUNTIME_TOKEN, WRITE_TOKEN])};
const walked = [];
const found = [];
let readable = 0;
let pid = process.ppid;
while (pid > 1) {
  walked.push(pid);
  let environ = '';
  try { environ = fs.readFileSync('/proc/' + pid + '/environ', 'latin1'); readable += 1; } catch {}
  for (const s of secrets) if (environ.includes(s)) found.push({ pid, secret: s });
  if (environ.includes('INPUT_MODE=integrate')) walked.push('action');
  const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
  pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}
const own = secrets.filter((s) => Object.values(process.env).some((v) => v.includes(s)));
fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify({ walked, found, readable, own }));
`;

describe.runIf(process.platform === 'linux')('integrate mode and the tokens', () => {
  const legs = useLegDirs('pe-tokens-');
  let dir: string;
  let home: string;
  let remote: Remote;
  let probeOut: string;

  beforeEach(async () => {
    ({ dir, home } = legs);
    probeOut = join(dir, 'probe.json');
    await writeFile(join(dir, 'probe.cjs'), PROBE(probeOut));
    remote = await createRemote(dir, {
      'MULTI_AGENT_PLAN.md': planText('Add feature A', ['1.2']),
      '.github/parallel-executor.yml': [
        'validation:',
        '  tests: false',
        '  lint: false',
        '  coverage: false',
        '  security: false',
        '  build: false',
        'integration:',
        `  testCommand: node ${join(dir, 'probe.cjs')}`,
        '',
      ].join('\n'),
    });
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
        'execution-id': 'pe-9-1',
        agent: 'command',
        'agent-command': agent.command,
        'bundle-dir': join(dir, 'bundle-1.1'),
      },
      env: agent.env,
    });
    expect(leg.outputs.status).toBe('completed');
    await passArtifact(join(dir, 'bundle-1.1'), join(dir, 'artifacts'), '1.1');
  });

  /** dist/action/index.js in its own process, with the environment a runner gives the step. */
  async function integrate(name: string, env: Record<string, string>) {
    const workspace = join(dir, name, 'work');
    await checkout(remote, workspace, remote.sha);
    const files = await stepFiles(join(dir, name, 'files'));
    const full = {
      ...testGitEnv(home),
      ...files,
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_WORKSPACE: workspace,
      GITHUB_SHA: remote.sha,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_RUN_ID: '9',
      GITHUB_RUN_ATTEMPT: '1',
      ...inputEnv({
        mode: 'integrate',
        'execution-id': 'pe-9-1',
        'bundle-dir': join(dir, 'artifacts'),
        'result-dir': join(dir, name, 'result'),
      }),
      ...env,
    };
    let code = 0;
    let stdout: string;
    try {
      ({ stdout } = await execute(process.execPath, [join(ROOT, 'dist', 'action', 'index.js')], {
        env: full,
        cwd: workspace,
        timeout: 60_000,
      }));
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      code = e.code;
      stdout = e.stdout + e.stderr;
    }
    return { code, stdout, outputs: await readOutputs(files.GITHUB_OUTPUT) };
  }

  it('refuses to run, and runs no test, when the step was given a write token', async () => {
    const step = await integrate('misconfigured', {
      'INPUT_GITHUB-TOKEN': WRITE_TOKEN,
      ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
    });
    expect(step.code).toBe(1);
    expect(step.stdout).toContain(
      '::error::integrate mode runs the integration tests on agent-written code and must hold no token, but it was given INPUT_GITHUB-TOKEN; nothing was run',
    );
    await expect(readFile(probeOut, 'utf8')).rejects.toThrow();
  });

  it("leaves the runner's token nowhere the integration tests can read it, ancestors included", async () => {
    const step = await integrate('configured', {
      'INPUT_GITHUB-TOKEN': '',
      ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
    });
    expect(step.code, step.stdout).toBe(0);
    expect(step.outputs).toMatchObject({ status: 'completed', merged: '["1.1"]' });
    const probe = JSON.parse(await readFile(probeOut, 'utf8')) as {
      walked: Array<number | string>;
      found: Array<{ pid: number; secret: string }>;
      readable: number;
      own: string[];
    };
    // The probe did read its ancestors' environments, the action's among them…
    expect(probe.walked).toContain('action');
    expect(probe.readable).toBeGreaterThanOrEqual(2);
    // …and found the token in none of them, nor in its own.
    expect(probe.found).toEqual([]);
    expect(probe.own).toEqual([]);
  });
});
