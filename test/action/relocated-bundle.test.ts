/**
 * The action as a runner gets it: the files of dist/action and nothing else, no node_modules
 * anywhere above them. A fresh build is copied to such a folder and run as the runner runs it: two
 * agent legs, then the integrate job, whose interaction-risk detection must load the TypeScript
 * compiler (typescript.js) and tree-sitter with its Python grammar (the .wasm files) from there.
 */
import { execFile } from 'node:child_process';
import {
  access,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionRisk } from '../../src/engine/integrate/schema.js';
import { githubApiServer } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { planText, repositoryFiles, writeAgent } from './e2e-fixture.js';
import { createRemote, runBuiltAgentLeg, runBuiltStep } from './runner.js';

const ROOT = join(import.meta.dirname, '..', '..');
const execute = promisify(execFile);

const PY_LIB =
  'def parse(text):\n    return text.split(",")\n\n\ndef render(items):\n    return ", ".join(items)\n';
const TS_LIB =
  "export function parse(text: string): string[] {\n  return text.split(',');\n}\n\nexport const LIMIT = 10;\n";

/** Folders from `dir` up to the root that hold a node_modules the bundle could resolve from. */
async function nodeModulesAbove(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    if (
      await access(join(at, 'node_modules')).then(
        () => true,
        () => false,
      )
    ) {
      found.push(at);
    }
    if (dirname(at) === at) return found;
  }
}

describe('the action bundle moved away from the repository', () => {
  let dir: string;
  let action: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-relocated-')));
    await execute(process.execPath, [
      join(ROOT, 'scripts', 'build-action.mjs'),
      join(dir, 'build'),
    ]);
    action = join(dir, 'runner', '_actions', 'parallel-executor', 'dist', 'action');
    await cp(join(dir, 'build'), action, { recursive: true });
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('has nothing to resolve packages from', async () => {
    expect(await nodeModulesAbove(action)).toEqual([]);
    expect((await readdir(action)).sort()).toEqual([
      'index.js',
      'tree-sitter-python.wasm',
      'typescript.js',
      'web-tree-sitter.wasm',
    ]);
  });

  it('finds a Python and a TypeScript interaction risk in integrate mode', async () => {
    const home = join(dir, 'home');
    await mkdir(home);
    const remote = await createRemote(dir, {
      ...(await repositoryFiles(planText('Change the libraries', ['1.2']))),
      'lib.py': PY_LIB,
      'src/lib.ts': TS_LIB,
    });
    await writeFile(
      join(dir, 'event.json'),
      JSON.stringify(
        asPullRequestComment(
          retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
          { number: 7, body: '/parallel-run', user: 'alice' },
        ),
      ),
    );
    // 1.1 changes render and LIMIT; 1.2, in files of its own, starts using both.
    const agent = await writeAgent(dir, {
      '1.1': {
        files: {
          'lib.py': PY_LIB.replace('", ".join(items)', '"; ".join(items)'),
          'src/lib.ts': TS_LIB.replace('LIMIT = 10', 'LIMIT = 5'),
        },
      },
      '1.2': {
        files: {
          'report.py':
            'from lib import render\n\n\ndef summary(items):\n    return render(items)\n',
          'src/fill.ts': "import { LIMIT } from './lib.js';\n\nexport const size = LIMIT * 2;\n",
        },
      },
    });

    for (const id of ['1.1', '1.2']) {
      const leg = await runBuiltAgentLeg(
        { script: join(action, 'index.js'), remote, home, dir },
        id,
        agent,
      );
      expect(leg.code, leg.stdout).toBe(0);
      expect(leg.outputs.status).toBe('completed');
    }

    const server = await githubApiServer();
    try {
      server.on('GET', '/repos/acme/widgets/pulls/7', 200, {
        number: 7,
        html_url: 'https://github.example/acme/widgets/pull/7',
        state: 'open',
        title: 'Plan',
        body: '',
        head: { ref: 'feature', sha: remote.sha, repo: { full_name: 'acme/widgets' } },
        base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
      });
      const integrate = await runBuiltStep({
        script: join(action, 'index.js'),
        folder: join(dir, 'integrate'),
        remote,
        home,
        inputs: {
          mode: 'integrate',
          'execution-id': 'pe-77-1',
          'bundle-dir': join(dir, 'artifacts'),
          'result-dir': join(dir, 'integrate', 'result'),
          'github-token': '',
        },
        env: { GITHUB_EVENT_PATH: join(dir, 'event.json'), GITHUB_API_URL: server.baseUrl },
      });
      expect(integrate.code, integrate.stdout).toBe(0);
      expect(integrate.outputs).toMatchObject({ status: 'completed', merged: '["1.1","1.2"]' });
      // What the integration found, as the integrate job records it for the publish job and the app.
      const { integration } = JSON.parse(
        await readFile(join(dir, 'integrate', 'result', 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
      ) as { integration: { risks: InteractionRisk[]; notes?: string[] } };
      expect(integration.notes ?? []).toEqual([]);
      expect(integration.risks).toEqual([
        expect.objectContaining({
          tasks: ['1.1', '1.2'],
          files: ['lib.py', 'report.py', 'src/fill.ts', 'src/lib.ts'],
          symbols: ['LIMIT', 'render'],
        }),
      ]);
      const report = await readFile(join(dir, 'integrate', 'result', 'report.md'), 'utf8');
      expect(report).toContain('1.1 changes render in lib.py');
      expect(report).toContain('**Interaction Risks**');
    } finally {
      server.close();
    }
  }, 180_000);
});
