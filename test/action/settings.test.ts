import { describe, expect, it } from 'vitest';
import { inputsFromEnv, readSettings } from '../../src/action/settings.js';

const ENV = {
  GITHUB_REPOSITORY: 'acme/widgets',
  GITHUB_WORKSPACE: '/work/ws',
  GITHUB_RUN_ID: '99',
};
const read = (inputs: Record<string, string>, env: Record<string, string | undefined> = ENV) =>
  readSettings((name) => inputs[name] ?? '', env);

describe('action settings', () => {
  it('reads plan mode with defaults', () => {
    const s = read({ mode: 'plan', 'github-token': 't' });
    expect(s).toMatchObject({
      mode: 'plan',
      planFile: 'MULTI_AGENT_PLAN.md',
      planPath: '/work/ws/MULTI_AGENT_PLAN.md',
      group: null,
      executionId: null,
      dryRun: false,
      githubToken: 't',
      prToken: null,
      runner: { owner: 'acme', repo: 'widgets', apiUrl: 'https://api.github.com', runId: '99' },
    });
  });

  it('reads INPUT_* variables the way @actions/core does', () => {
    const getInput = inputsFromEnv({
      INPUT_MODE: ' agent ',
      'INPUT_EXECUTION-ID': 'pe-1-1',
      INPUT_TASK: '1.1',
    });
    expect(getInput('mode')).toBe('agent');
    expect(getInput('execution-id')).toBe('pe-1-1');
    expect(getInput('missing')).toBe('');
  });

  it('reads agent mode and its requirements', () => {
    const s = read({
      mode: 'agent',
      'execution-id': 'pe-9-1',
      task: 'T-001',
      'bundle-dir': 'out',
      'dry-run': 'true',
    });
    expect(s).toMatchObject({
      mode: 'agent',
      task: 'T-001',
      bundleDir: '/work/ws/out',
      agent: 'claude-code',
      dryRun: true,
    });
    expect(() => read({ mode: 'agent', 'execution-id': 'pe-9-1' })).toThrow(
      /input "task" is required in agent mode/,
    );
    expect(() => read({ mode: 'agent', task: '1.1' })).toThrow(
      /input "execution-id" is required in agent mode/,
    );
    expect(() =>
      read({ mode: 'agent', 'execution-id': 'e', task: '1.1', agent: 'command' }),
    ).toThrow(/input "agent-command" is required when agent is "command"/);
  });

  it('reads the Claude Code inputs and the other ways to authenticate, naming a bad one', () => {
    const agent = { mode: 'agent', 'execution-id': 'pe-1-1', task: '1.1' };
    const s = read(
      {
        ...agent,
        'max-turns': '12',
        'disallowed-tools': 'WebFetch\nBash(rm:*), WebSearch',
        'extra-args': '--effort\nlow',
        'agent-env': 'A=1\nB=x=y',
        'use-bedrock': 'true',
        'aws-region': 'us-east-1',
      },
      { ...ENV, AWS_ACCESS_KEY_ID: 'from-the-job' },
    );
    expect(s).toMatchObject({
      agentOptions: {
        maxTurns: 12,
        disallowedTools: ['WebFetch', 'Bash(rm:*)', 'WebSearch'],
        extraArgs: ['--effort', 'low'],
        env: { A: '1', B: 'x=y' },
      },
      credentials: {
        CLAUDE_CODE_USE_BEDROCK: '1',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'from-the-job',
      },
    });
    expect(() => read({ ...agent, 'max-turns': 'ten' })).toThrow(/input "max-turns"/);
    expect(() => read({ ...agent, 'permission-mode': 'yolo' })).toThrow(/acceptEdits/);
    expect(() => read({ ...agent, 'agent-env': 'A=1\nSECRET value' })).toThrow(
      /input "agent-env" line 2 is not NAME=value/,
    );
    expect(() => read({ ...agent, 'use-vertex': 'true' })).toThrow(/vertex-project-id/);
    expect(() => read({ ...agent, 'use-vertex': 'true', 'use-bedrock': 'true' })).toThrow(
      /pick one/,
    );
  });

  it('refuses unsafe ids, bad enums, and paths outside the workspace, naming the input', () => {
    expect(() => read({ mode: 'deploy' })).toThrow(
      /input "mode" must be one of plan, agent, integrate, publish, repair, integrate-repairs, got "deploy"/,
    );
    expect(() => read({ mode: 'integrate', 'execution-id': '$(rm -rf ~)' })).toThrow(
      /input "execution-id"/,
    );
    expect(() => read({ mode: 'agent', 'execution-id': 'e', task: '`id`' })).toThrow(
      /input "task"/,
    );
    expect(() => read({ mode: 'plan', plan: '../../etc/passwd' })).toThrow(
      /input "plan" must be a path inside/,
    );
    expect(() => read({ mode: 'plan', 'dry-run': 'yes' })).toThrow(/input "dry-run"/);
    expect(() => read({ mode: 'plan', group: 'a b' })).toThrow(/input "group"/);
    expect(read({ mode: 'plan', group: 'all' }).group).toBeNull();
  });

  it('reads the selection, the PR, the target branch, the app flag and the result folder', () => {
    const s = read({
      mode: 'integrate',
      'execution-id': 'pe-1-1',
      tasks: '1.1, 1.2,1.1',
      'pr-number': '12',
      'base-branch': 'feature/x',
      'app-managed': 'true',
      'result-dir': 'out/result',
    });
    expect(s).toMatchObject({
      tasks: ['1.1', '1.2'],
      pullRequest: 12,
      baseBranch: 'feature/x',
      appManaged: true,
      resultDir: '/work/ws/out/result',
    });
    expect(read({ mode: 'publish', 'execution-id': 'pe-1-1' })).toMatchObject({
      mode: 'publish',
      resultDir: '/work/ws/.parallel-executor/result',
    });
    expect(read({ mode: 'plan' })).toMatchObject({
      tasks: null,
      pullRequest: null,
      appManaged: false,
    });
    expect(() => read({ mode: 'plan', tasks: '1.1, $(id)' })).toThrow(/input "tasks"/);
    expect(() => read({ mode: 'plan', 'pr-number': '7; rm' })).toThrow(/input "pr-number"/);
    expect(() => read({ mode: 'plan', 'base-branch': '--upload-pack=x' })).toThrow(
      /input "base-branch"/,
    );
    expect(() => read({ mode: 'plan', 'base-branch': 'a..b' })).toThrow(/input "base-branch"/);
  });

  it('needs the runner environment', () => {
    expect(() => read({ mode: 'plan' }, { GITHUB_WORKSPACE: '/w' })).toThrow(
      /GITHUB_REPOSITORY is ""/,
    );
    expect(() => read({ mode: 'plan' }, { GITHUB_REPOSITORY: 'a/b' })).toThrow(
      /GITHUB_WORKSPACE is not set/,
    );
  });

  it('honours GITHUB_API_URL (GitHub Enterprise Server)', () => {
    const s = read({ mode: 'plan' }, { ...ENV, GITHUB_API_URL: 'https://ghe.example.com/api/v3/' });
    expect(s.runner.apiUrl).toBe('https://ghe.example.com/api/v3');
  });
});
