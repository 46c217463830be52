/**
 * A GitHub Actions runner, as far as the action can tell: a bare repository standing in for the
 * remote, fresh checkouts of it the way actions/checkout makes them (all branches fetched as
 * remote-tracking refs, the commit checked out detached, `origin` pointing at the remote), the
 * files and variables a runner gives a step (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, INPUT_*, …), and
 * a runtime that writes outputs and the summary to those files the way @actions/core does.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inputsFromEnv } from '../../src/action/settings.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { recordingRuntime, type RecordingRuntime } from './recording-runtime.js';

/** Git that ignores the machine's config, with a fixed identity: what the tests themselves run. */
export function testGitEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Plan Author',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'Plan Author',
    GIT_COMMITTER_EMAIL: 'author@example.com',
  };
}

export interface Remote {
  /** The bare repository, the "GitHub" side. */
  bare: string;
  /** The commit of `main` the remote was created with. */
  sha: string;
  git(args: readonly string[]): Promise<string>;
}

/** A bare remote whose `main` holds `files` in one commit; `branches` are more names for it. */
export async function createRemote(
  dir: string,
  files: Record<string, string>,
  branches: string[] = [],
): Promise<Remote> {
  const env = testGitEnv(dir);
  const seed = join(dir, 'seed');
  const bare = join(dir, 'remote.git');
  const run = async (cwd: string, args: readonly string[]) =>
    (
      await git(cwd, ['-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', ...args], { env })
    ).stdout.trim();
  await mkdir(seed, { recursive: true });
  await run(seed, ['init', '-q', '-b', 'main']);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(seed, path, '..'), { recursive: true });
    await writeFile(join(seed, path), content);
  }
  await run(seed, ['add', '-A']);
  await run(seed, ['commit', '-q', '-m', 'initial commit']);
  for (const branch of branches) await run(seed, ['branch', branch]);
  await run(dir, ['clone', '-q', '--bare', seed, bare]);
  return {
    bare,
    sha: await run(seed, ['rev-parse', 'HEAD']),
    git: (args) => run(bare, args),
  };
}

/** actions/checkout with `ref: <sha>`, `fetch-depth: 0`: detached at the commit, every branch fetched. */
export async function checkout(remote: Remote, workspace: string, ref: string): Promise<void> {
  const env = testGitEnv(workspace);
  const run = (args: readonly string[]) => git(workspace, args, { env });
  await mkdir(workspace, { recursive: true });
  await run(['init', '-q']);
  await run(['remote', 'add', 'origin', remote.bare]);
  await run(['fetch', '-q', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
  await run(['checkout', '-q', '--detach', ref]);
}

/** The files a runner creates before each step, and the variables that name them. */
export async function stepFiles(
  dir: string,
): Promise<{ GITHUB_OUTPUT: string; GITHUB_STEP_SUMMARY: string }> {
  const id = randomUUID();
  await mkdir(dir, { recursive: true });
  const files = {
    GITHUB_OUTPUT: join(dir, `output-${id}.txt`),
    GITHUB_STEP_SUMMARY: join(dir, `summary-${id}.md`),
  };
  await writeFile(files.GITHUB_OUTPUT, '');
  await writeFile(files.GITHUB_STEP_SUMMARY, '');
  return files;
}

/** `INPUT_<NAME>` for each input, as the runner sets them from `with:`. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
      value,
    ]),
  );
}

/**
 * An in-process runtime that behaves like @actions/core on a runner: inputs from INPUT_*, outputs
 * appended to GITHUB_OUTPUT in the heredoc form, the summary appended to GITHUB_STEP_SUMMARY. It
 * also records everything, and never sets process.exitCode.
 */
export function fileRuntime(env: Record<string, string>): RecordingRuntime {
  const getInput = inputsFromEnv(env);
  const runtime = recordingRuntime({});
  runtime.getInput = getInput;
  const pending: Promise<void>[] = [];
  const setOutput = runtime.setOutput;
  runtime.setOutput = (name, value) => {
    setOutput(name, value);
    const delimiter = `ghadelimiter_${randomUUID()}`;
    pending.push(appendFile(env.GITHUB_OUTPUT!, `${name}<<${delimiter}\n${value}\n${delimiter}\n`));
  };
  const writeSummary = runtime.writeSummary;
  runtime.writeSummary = async (markdown) => {
    await writeSummary(markdown);
    await appendFile(env.GITHUB_STEP_SUMMARY!, markdown);
  };
  const flush = async () => void (await Promise.all(pending));
  Object.assign(runtime, { flush });
  return runtime;
}

export async function flushRuntime(runtime: RecordingRuntime): Promise<void> {
  await (runtime as RecordingRuntime & { flush: () => Promise<void> }).flush();
}

/** What a step wrote to GITHUB_OUTPUT (`name<<DELIMITER\nvalue\nDELIMITER`). */
export async function readOutputs(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const outputs: Record<string, string> = {};
  for (const match of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[match[1]!] = match[3]!;
  }
  return outputs;
}

export interface StepOptions {
  /** The test's temp folder; the step's runner lives in `<dir>/runners/<name>`. */
  dir: string;
  /** HOME for the step and everything it starts. */
  home: string;
  remote: Remote;
  name: string;
  /** What actions/checkout checks out. */
  ref: string;
  inputs: Record<string, string>;
  /** More variables (the event, the API URL, the agent's scenario). */
  env?: Record<string, string>;
}

export interface StepResult {
  runtime: RecordingRuntime;
  workspace: string;
  outputs: Record<string, string>;
  summary: string;
}

/** One step on its own runner: a fresh checkout, the runner's variables, the action in-process. */
export async function runStep(options: StepOptions): Promise<StepResult> {
  const { run } = await import('../../src/action/main.js');
  const base = join(options.dir, 'runners', options.name);
  const workspace = join(base, 'work');
  await checkout(options.remote, workspace, options.ref);
  const env: Record<string, string> = {
    ...testGitEnv(options.home),
    ...(await stepFiles(join(base, 'files'))),
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/widgets',
    GITHUB_WORKSPACE: workspace,
    GITHUB_SHA: options.remote.sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW_REF: 'acme/widgets/.github/workflows/parallel-run.yml@refs/heads/main',
    RUNNER_TEMP: join(base, 'temp'),
    // What a runner hands every JavaScript action: none of it may reach an agent.
    ACTIONS_RUNTIME_TOKEN: 'runtime-token-secret',
    // Only with `id-token: write`, which the integrate and repair jobs never have (they refuse it).
    ...(['integrate', 'repair', 'integrate-repairs'].includes(options.inputs.mode ?? '')
      ? {}
      : { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-secret' }),
    ...inputEnv(options.inputs),
    ...options.env,
  };
  const runtime = fileRuntime(env);
  await run({ runtime, env, sleep: async () => undefined });
  await flushRuntime(runtime);
  return {
    runtime,
    workspace,
    outputs: await readOutputs(env.GITHUB_OUTPUT!),
    summary: await readFile(env.GITHUB_STEP_SUMMARY!, 'utf8'),
  };
}

/** The integrate job's `result-dir` uploaded, then downloaded by the publish job. */
export async function passResult(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

/** actions/upload-artifact then actions/download-artifact (`pattern: agent-*`): a folder per task. */
export async function passArtifact(from: string, artifacts: string, taskId: string): Promise<void> {
  await cp(from, join(artifacts, `agent-${taskId}`), { recursive: true });
}

export interface BuiltStepOptions {
  /** The built action's entry, `dist/action/index.js` or a copy of the dist folder's. */
  script: string;
  /** The step's folder: `<folder>/work` is the checkout, `<folder>/files` the runner's files. */
  folder: string;
  remote: Remote;
  home: string;
  inputs: Record<string, string>;
  /** More variables (the event, the API URL, the agent's scenario). */
  env?: Record<string, string>;
}

/**
 * One step of the built action as a runner runs it: a fresh checkout, the runner's variables and
 * files, the bundle in its own Node process. Returns the exit code, what it printed, its outputs.
 */
export async function runBuiltStep(
  options: BuiltStepOptions,
): Promise<{ code: number; stdout: string; outputs: Record<string, string> }> {
  const { remote } = options;
  const workspace = join(options.folder, 'work');
  await checkout(remote, workspace, remote.sha);
  const files = await stepFiles(join(options.folder, 'files'));
  const env = {
    ...testGitEnv(options.home),
    ...files,
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/widgets',
    GITHUB_WORKSPACE: workspace,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_EVENT_NAME: 'issue_comment',
    GITHUB_SHA: remote.sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '77',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW_REF: 'acme/widgets/.github/workflows/parallel-run.yml@refs/heads/main',
    ...inputEnv(options.inputs),
    ...options.env,
  };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [options.script], {
      env,
      cwd: workspace,
      timeout: 60_000,
    });
    return { code: 0, stdout, outputs: await readOutputs(files.GITHUB_OUTPUT) };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return {
      code: e.code,
      stdout: e.stdout + e.stderr,
      outputs: await readOutputs(files.GITHUB_OUTPUT),
    };
  }
}

/**
 * Task `id`'s agent leg of the built action (execution pe-77-1, the command adapter running
 * `agent`), in `<dir>/agent-<id>`; its bundle is passed on as the artifact `<dir>/artifacts/agent-<id>`.
 */
export async function runBuiltAgentLeg(
  options: Pick<BuiltStepOptions, 'script' | 'remote' | 'home'> & { dir: string },
  id: string,
  agent: { command: string; env: Record<string, string> },
): Promise<Awaited<ReturnType<typeof runBuiltStep>>> {
  const bundle = join(options.dir, `agent-${id}`, 'bundle');
  const leg = await runBuiltStep({
    ...options,
    folder: join(options.dir, `agent-${id}`),
    inputs: {
      mode: 'agent',
      task: id,
      'execution-id': 'pe-77-1',
      agent: 'command',
      'agent-command': agent.command,
      'github-token': '',
      'bundle-dir': bundle,
    },
    env: { GITHUB_EVENT_PATH: join(options.dir, 'event.json'), ...agent.env },
  });
  await passArtifact(bundle, join(options.dir, 'artifacts'), id);
  return leg;
}
