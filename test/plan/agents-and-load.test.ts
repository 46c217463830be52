import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import {
  findAgentDefinition,
  loadAgentDefinitions,
  parseAgentFile,
} from '../../src/engine/plan/agents.js';
import { findAgentsDir, loadPlan } from '../../src/engine/plan/index.js';
import { MAX_PLAN_BYTES } from '../../src/engine/plan/limits.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pe-plan-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PLAN = `# Plan
## Parallel Group 1: A
- [ ] 1.1: One (Builder-1, 1h)
  - [ ] works
- [ ] 1.2: Two (Validator-1, 1h)
  - [ ] works
`;

async function agentFile(root: string, name: string, text: string): Promise<string> {
  const agents = path.join(root, '.claude', 'agents');
  await mkdir(agents, { recursive: true });
  await writeFile(path.join(agents, name), text);
  return agents;
}

describe('agent definitions', () => {
  it('reads front matter with zod: name, description, tools as a comma list, model', () => {
    const { definition, diagnostics } = parseAgentFile(
      '---\nname: builder-1\ndescription: Builds things.\ntools: Read, Write , Bash\nmodel: sonnet\ncolor: blue\n---\nYou build.\n',
      '/x/.claude/agents/builder-1.md',
    );
    expect(diagnostics).toEqual([]);
    expect(definition).toMatchObject({
      name: 'builder-1',
      fileName: 'builder-1',
      description: 'Builds things.',
      tools: ['Read', 'Write', 'Bash'],
      model: 'sonnet',
      prompt: 'You build.\n',
    });
  });

  it('accepts a file without front matter by its file name', () => {
    const { definition, diagnostics } = parseAgentFile(
      '# Reviewer\nReview code.\n',
      '/x/reviewer.md',
    );
    expect(diagnostics).toEqual([]);
    expect(definition).toMatchObject({
      name: 'reviewer',
      description: null,
      prompt: '# Reviewer\nReview code.\n',
    });
  });

  it('reports front matter that fails the schema with its file and line', () => {
    const { definition, diagnostics } = parseAgentFile(
      '---\nname: scribe\ndescription:\nmodel: haiku\n---\nWrite.\n',
      '/x/.claude/agents/scribe.md',
    );
    expect(definition.name).toBe('scribe');
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'invalid-agent-definition',
        file: '/x/.claude/agents/scribe.md',
        line: 3,
        message: expect.stringContaining('"description"'),
      }),
    ]);
  });

  it('reports broken YAML', () => {
    const { diagnostics } = parseAgentFile('---\nname: [oops\n---\n', '/x/a.md');
    expect(diagnostics[0]).toMatchObject({ code: 'invalid-agent-definition', file: '/x/a.md' });
    expect(diagnostics[0]!.message).toMatch(/invalid YAML/);
  });

  it('matches plan names to files ignoring case and separators', async () => {
    await agentFile(dir, 'builder-1.md', '---\nname: builder-1\ndescription: b\n---\n');
    await agentFile(dir, 'qa.md', '---\nname: Validator_1\ndescription: v\n---\n');
    await agentFile(dir, 'notes.txt', 'not an agent');
    const { definitions } = await loadAgentDefinitions(path.join(dir, '.claude', 'agents'));
    expect(definitions.map((d) => d.fileName)).toEqual(['builder-1', 'qa']);
    expect(findAgentDefinition('Builder-1', definitions)?.fileName).toBe('builder-1');
    expect(findAgentDefinition('validator 1', definitions)?.fileName).toBe('qa');
    expect(findAgentDefinition('Builder-2', definitions)).toBeNull();
  });

  it('a missing agents directory is a usage error naming it', async () => {
    await expect(loadAgentDefinitions(path.join(dir, 'nope'))).rejects.toThrow(UsageError);
  });
});

describe('loadPlan', () => {
  it('reads, parses and validates; skips the agent check with no .claude/agents', async () => {
    const file = path.join(dir, 'MULTI_AGENT_PLAN.md');
    await writeFile(file, PLAN);
    const loaded = await loadPlan(file);
    expect(loaded).toMatchObject({
      valid: true,
      diagnostics: [],
      agentsDir: null,
      agentDefinitions: null,
    });
    expect(loaded.plan.tasks).toHaveLength(2);
    expect(loaded.text).toBe(PLAN);
  });

  it('checks agents against .claude/agents beside the plan, with agent-file findings', async () => {
    const file = path.join(dir, 'MULTI_AGENT_PLAN.md');
    await writeFile(file, PLAN);
    const agents = await agentFile(dir, 'builder-1.md', '---\nname: builder-1\n---\n');
    const loaded = await loadPlan('MULTI_AGENT_PLAN.md', { cwd: dir });
    expect(loaded.agentsDir).toBe(agents);
    // Findings about agent definitions warn; they never make the plan unrunnable.
    expect(loaded.valid).toBe(true);
    expect(loaded.diagnostics.map((d) => [d.code, d.file ?? 'plan'])).toEqual([
      ['unknown-agent', 'plan'],
      ['invalid-agent-definition', path.join(agents, 'builder-1.md')],
    ]);
  });

  it('finds .claude/agents at the repository root for a plan in a subfolder, else in cwd', async () => {
    await mkdir(path.join(dir, '.git'));
    await mkdir(path.join(dir, 'docs', 'plans'), { recursive: true });
    const agents = await agentFile(dir, 'a.md', '');
    expect(await findAgentsDir(path.join(dir, 'docs', 'plans'), null)).toBe(agents);
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'pe-plan-other-'));
    try {
      expect(await findAgentsDir(elsewhere, null)).toBeNull();
      expect(await findAgentsDir(elsewhere, dir)).toBe(agents);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('a missing plan file is a usage error that names the file', async () => {
    const error = await loadPlan('missing/PLAN.md', { cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('plan file not found: missing/PLAN.md');
  });
});

describe('what is at the plan path, from a branch', () => {
  // A plan (or an agent file) comes from a branch: a colleague's, a pull request's. What a branch
  // can put at its path was read as it was: a FIFO blocked validate and run for ever (SIGTERM
  // too), a link to /dev/zero took 600 MB and ended in "Invalid string length", a folder named
  // x.md in .claude/agents crashed with EISDIR, and a committed link read a file outside the
  // repository as the plan.
  const message = async (file: string) => {
    const error = await loadPlan(file, { cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    return `${(error as UsageError).message}\n${(error as UsageError).hint ?? ''}`;
  };
  let outside: string;
  beforeEach(async () => {
    await mkdir(path.join(dir, '.git'));
    outside = await mkdtemp(path.join(tmpdir(), 'pe-plan-outside-'));
  });
  afterEach(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  it('refuses a FIFO, a device, a folder and a file of many megabytes, saying which', async () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo.md')]);
    await symlink('/dev/zero', path.join(dir, 'zero.md'));
    await mkdir(path.join(dir, 'folder.md'));
    await writeFile(path.join(dir, 'big.md'), 'a'.repeat(MAX_PLAN_BYTES + 1));
    expect(await message('fifo.md')).toContain('plan file fifo.md is not a regular file');
    expect(await message('zero.md')).toContain('plan file zero.md is not a regular file');
    expect(await message('folder.md')).toContain('plan file folder.md is a folder');
    expect(await message('big.md')).toMatch(/plan file big\.md is 0\.5 MB, more than the 0\.5 MB/);
  });

  it('refuses a link out of the repository, and reads one inside it where it leads', async () => {
    await writeFile(path.join(outside, 'plan.md'), PLAN);
    await symlink(path.join(outside, 'plan.md'), path.join(dir, 'MULTI_AGENT_PLAN.md'));
    const said = await message('MULTI_AGENT_PLAN.md');
    expect(said).toContain(
      `is a symbolic link to ${await realpath(path.join(outside, 'plan.md'))}`,
    );
    expect(said).toContain(`outside the repository ${dir}`);

    await mkdir(path.join(dir, 'docs'));
    await writeFile(path.join(dir, 'docs', 'plan.md'), PLAN);
    await symlink('docs/plan.md', path.join(dir, 'linked.md'));
    const loaded = await loadPlan('linked.md', { cwd: dir });
    expect(loaded.plan.tasks).toHaveLength(2);
    // Write-back goes to the file itself: git holds the link's target text at linked.md.
    expect(loaded.realFile).toBe(path.join(dir, 'docs', 'plan.md'));
    // A plan named outside the repository on purpose is read.
    expect((await loadPlan(path.join(outside, 'plan.md'))).plan.tasks).toHaveLength(2);
  });

  it('counts an agent file that is no plain file of the repository by its name, unread', async () => {
    await writeFile(path.join(dir, 'MULTI_AGENT_PLAN.md'), PLAN);
    const agents = await agentFile(dir, 'validator-1.md', '---\nname: v\ndescription: d\n---\n');
    execFileSync('mkfifo', [path.join(agents, 'builder-1.md')]);
    await mkdir(path.join(agents, 'folder.md'));
    await writeFile(path.join(outside, 'secret.md'), '---\nname: secret\n');
    await symlink(path.join(outside, 'secret.md'), path.join(agents, 'linked.md'));
    const loaded = await loadPlan('MULTI_AGENT_PLAN.md', { cwd: dir });
    expect(loaded.agentDefinitions!.map((d) => d.name)).toEqual([
      'builder-1',
      'folder',
      'linked',
      'v',
    ]);
    expect(loaded.diagnostics.map((d) => d.message)).toEqual([
      'builder-1.md is not a regular file (a FIFO, a socket or a device: reading it may never end); only its name is used',
      'folder.md is a folder; only its name is used',
      `linked.md is a symbolic link to ${await realpath(path.join(outside, 'secret.md'))}, outside the repository ${dir}; only its name is used`,
    ]);
  });
});
