import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
