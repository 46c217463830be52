import { mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { findExecution } from '../../engine/run/executions.js';
import { UsageError } from '../../engine/errors.js';
import { demoAgentCommand } from '../../demo/agent-command.js';
import { demoDeviations, reportExcerpt } from '../../demo/expectations.js';
import { createSampleRepo } from '../../demo/sample-repo.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../io.js';
import { parseOptions } from '../main.js';
import { humanStream } from '../engine-session.js';
import { runCommand } from './run.js';

const HELP = `Usage: parallel-executor demo [--clean] [--dir DIR] [--json]

Create a sample repository (a tiny cart library with lint, tests and build, and a plan of seven
tasks in two groups), and run the whole flow on it with scripted agents that really edit the
code: worktrees, live dashboard, validation, the integration branch, the report, the plan's
statuses. No AI and no network: the agents are scripts.

By design, task 2.2 edits the same line as 2.1 (a merge conflict), task 2.4 passes its own tests
but breaks 2.1's once both are merged (batch-and-bisect blames it), and task 2.3 writes a test
its code does not pass (its validation fails). Each is handed back to the agent once (a repair,
--repair-attempts 1): the conflict and the culprit are repaired and merged; 2.3's repair cannot
decide what is right, so it stays failed for a person.

  --clean     remove the sample repository when the demo ends; by default it is kept (in a
              temporary folder) so you can open the report and follow the next steps
  --dir DIR   create the sample repository in DIR (new or empty; always kept)
  --json      print run's JSON document with a "demo" field (the dashboard goes to stderr)

Exit status: 0 when the demo ran as designed (its conflict and its failing task are expected),
1 when it did not, 2 usage error.
`;

export const demoCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    clean: { type: 'boolean' },
    dir: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0)
    throw new UsageError(`demo takes no arguments, got "${positionals[0]}"`);
  const json = values.json ?? false;
  const dir =
    values.dir === undefined ? await freshTempDir() : await emptyDir(resolve(io.cwd, values.dir));
  const keep = !(values.clean ?? false) || values.dir !== undefined;
  const human = humanStream(io, json);
  try {
    await createSampleRepo(dir);
    human.write(intro(dir, keep));
    const captured = json ? capture() : null;
    const code = await runCommand(
      [
        '--agent',
        'command',
        '--agent-command',
        demoAgentCommand(process.execPath),
        '--repair-attempts',
        '1',
        ...(json ? ['--json'] : []),
      ],
      { ...io, cwd: dir, stdout: captured?.stream ?? io.stdout },
    );
    if (code === EXIT_USAGE) return code;
    const { state } = await findExecution(dir);
    const deviations = demoDeviations(state);
    if (json) {
      const document = JSON.parse(captured!.text()) as Record<string, unknown>;
      const demo = { dir, kept: keep, asDesigned: deviations.length === 0, deviations };
      io.stdout.write(`${JSON.stringify({ ...document, demo }, null, 2)}\n`);
    } else {
      const report = state.report_path === null ? null : await readFile(state.report_path, 'utf8');
      io.stdout.write(closing(state.report_path, report, dir, keep, deviations));
    }
    return deviations.length === 0 ? EXIT_OK : EXIT_FAILED;
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
};

async function freshTempDir(): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), 'parallel-executor-demo-')));
}

async function emptyDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new UsageError(
      `--dir ${dir} is not empty`,
      'Pass a new or empty folder; the demo creates a git repository there.',
    );
  }
  return realpath(dir);
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

function intro(dir: string, keep: boolean): string {
  return [
    'parallel-executor demo',
    `Sample repository: ${dir}${keep ? '' : ' (removed when the demo ends: --clean)'}`,
    'Plan: 7 tasks in 2 groups, run by 4 scripted agents that really edit the code (no AI, no network).',
    "By design, 2.2 collides with 2.1 in src/config.js, 2.4 breaks 2.1's test once merged, and 2.3 writes a",
    'failing test: each goes back to the agent for one repair. Watch which ones it can fix.',
    '',
    '',
  ].join('\n');
}

function closing(
  reportPath: string | null,
  report: string | null,
  dir: string,
  keep: boolean,
  deviations: string[],
): string {
  const lines = ['', '━━━ Demo report (excerpt) ━━━', ''];
  if (report !== null) {
    lines.push(reportExcerpt(report, ['Execution Summary', 'Integration Results']).trimEnd());
  }
  lines.push('');
  if (deviations.length === 0) {
    lines.push(
      'The demo ran as designed: 4 tasks merged cleanly; the conflict (2.2 with 2.1) and the bisect',
      'culprit (2.4) were handed back to the agent, repaired and merged; the failing test of 2.3 could',
      'not be repaired, so it is reported and left out, never hidden.',
    );
  } else {
    lines.push('The demo did NOT run as designed:', ...deviations.map((d) => `  - ${d}`));
  }
  if (keep) {
    lines.push(
      '',
      `Full report: ${reportPath ?? '(none)'}`,
      `Look around: cd ${dir} && git log --oneline --graph --all`,
    );
  } else {
    lines.push('', `The sample repository was removed (--clean).`);
  }
  return `${lines.join('\n')}\n`;
}
