import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli-run/helpers.js';
import { createTempRepo } from '../support/git-repo.js';
import { repoRoot } from './helpers.js';

const run = promisify(execFile);

const BROKEN = `# Broken
## Parallel Group 1: A
- [ ] 1.1: Needs a ghost (Builder-1, 1h)
  - [ ] ok
- [ ] 1.2: Orphan task (2h)
- [ ] Task 1.3: Waits (Builder-2)
  - **Dependencies**: T9
  - [ ] ok
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pe-validate-'));
  await writeFile(path.join(dir, 'MULTI_AGENT_PLAN.md'), BROKEN);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parallel-executor validate (in process)', () => {
  it('summarises a valid plan: groups, tasks, agents, waves; exit 0', async () => {
    const t = await cli(['validate', '--plan', 'examples/MULTI_AGENT_PLAN.md'], repoRoot);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(
      'groups  3: 1 Foundation (Day 1), 2 Core Features (Days 2-3), 3 API and Release (Day 4)',
    );
    expect(t.stdout).toContain('tasks   8');
    expect(t.stdout).toContain(
      'agents  6: Architect-1, Validator-1, Builder-1, Builder-2, Builder-3, Scribe-1',
    );
    expect(t.stdout).toContain('waves   3: [1.1 1.2] → [2.1 2.2 2.3] → [3.1 3.2 3.3]');
    expect(t.stdout).toContain('agent definitions  6 in examples/.claude/agents');
    expect(t.stdout).toContain('✔ valid: 0 errors, 0 warnings');
    expect(t.stderr).toBe('');
  });

  it('prints FILE:LINE:COL severity code message, with a hint; exit 1 on errors', async () => {
    const t = await cli(['validate'], dir);
    expect(t.code).toBe(1);
    const lines = t.stdout.split('\n');
    expect(lines).toContain(
      'MULTI_AGENT_PLAN.md:5:1 error missing-agent task 1.2 "Orphan task" has no agent',
    );
    expect(lines).toContain(
      'MULTI_AGENT_PLAN.md:6:1 error unknown-dependency task 1.3 depends on "T9", which is not a task in this plan',
    );
    expect(lines).toContain(
      'MULTI_AGENT_PLAN.md:5:1 warning missing-criteria task 1.2 "Orphan task" has no success criteria',
    );
    expect(lines.some((line) => line.startsWith('  hint: '))).toBe(true);
    expect(lines).toContain('✖ invalid: 2 errors, 1 warning');
  });

  it('--json: one JSON document with valid, plan {title, groups, tasks}, diagnostics', async () => {
    const t = await cli(['validate', '--json', '--plan', 'MULTI_AGENT_PLAN.md'], dir);
    expect(t.code).toBe(1);
    const document = JSON.parse(t.stdout);
    expect(Object.keys(document)).toEqual(['valid', 'plan', 'waves', 'diagnostics']);
    expect(document.valid).toBe(false);
    expect(Object.keys(document.plan)).toEqual(['title', 'groups', 'tasks']);
    expect(document.plan.tasks[0]).toMatchObject({
      id: '1.1',
      title: 'Needs a ghost',
      agents: ['Builder-1'],
      group: '1',
      dependsOn: [],
      estimateHours: 1,
      status: 'pending',
      branch: null,
      worktree: null,
      files: [],
      criteria: ['ok'],
      line: 3,
    });
    expect(document.diagnostics[0]).toMatchObject({
      file: 'MULTI_AGENT_PLAN.md',
      line: 5,
      column: 1,
      severity: 'error',
      code: 'missing-agent',
    });
  });

  it('usage errors exit 2: unknown flag, stray argument, missing file named', async () => {
    const flag = await cli(['validate', '--frobnicate'], dir);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--frobnicate'");
    const stray = await cli(['validate', 'PLAN.md'], dir);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('unexpected argument "PLAN.md"');
    const missing = await cli(['validate', '--json', '--plan', 'nowhere/PLAN.md'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('plan file not found: nowhere/PLAN.md');
    // --json: the error is a document on stdout too, for tools that read only stdout.
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: { message: 'plan file not found: nowhere/PLAN.md', kind: 'usage' },
    });
  });

  it('a missing plan: where it was looked for, and the branches that hold one', async () => {
    // The plan is committed on the feature branch; main, checked out, has none. From a subfolder,
    // "default: MULTI_AGENT_PLAN.md in the current folder" was wrong twice over.
    const repo = await createTempRepo({ files: { 'src/app.py': 'x = 1\n' } });
    try {
      await repo.git(['switch', '-q', '-c', 'feature/plan']);
      await repo.write('MULTI_AGENT_PLAN.md', BROKEN);
      await repo.commit('the plan');
      await repo.git(['switch', '-q', 'main']);
      await repo.git(['branch', 'agent/builder-1/x', 'feature/plan']);
      for (const argv of [['validate'], ['run', '--agent-command', 'true']]) {
        const missing = await cli(argv, path.join(repo.dir, 'src'));
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain('plan file not found: ../MULTI_AGENT_PLAN.md');
        expect(missing.stderr).toContain(
          `hint: Looked for MULTI_AGENT_PLAN.md at the top of the repository ${repo.dir}`,
        );
        expect(missing.stderr).toContain(
          'It is committed on branch feature/plan: switch to the one to run (`git switch feature/plan`)',
        );
      }
      const named = await cli(['validate', '--plan', 'PLAN.md'], path.join(repo.dir, 'src'));
      expect(named.stderr).toContain(
        `hint: Looked for PLAN.md from ${path.join(repo.dir, 'src')} (--plan). Write the plan there, or name it with --plan FILE.`,
      );
    } finally {
      await repo.cleanup();
    }
  });

  it('--help prints the options and exits 0', async () => {
    const t = await cli(['validate', '--help'], dir);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(
      'Usage: parallel-executor validate [--plan FILE] [--config FILE] [--json]',
    );
  });
});

describe('parallel-executor validate (a real process)', () => {
  // As a user runs it from a checkout: node --import tsx src/cli/bin.ts, from the repository root.
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { cwd: repoRoot }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );

  it('exits 0, 1 and 2, and --json stdout is exactly one JSON document', async () => {
    const good = await cli(['validate', '--json', '--plan', 'examples/MULTI_AGENT_PLAN.md']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, diagnostics: [] });
    expect(good.stderr).toBe('');

    const bad = await cli(['validate', '--json', '--plan', path.join(dir, 'MULTI_AGENT_PLAN.md')]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false });

    const missing = await cli(['validate', '--plan', 'absent.md']);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('plan file not found: absent.md');
  });
});
