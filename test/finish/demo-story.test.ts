import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCost, formatDuration } from '../../src/engine/format.js';
import type { TaskOutcome } from '../../src/engine/report/outcome.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { integrationPullRequest } from '../../src/github-run/integration-pull-request.js';
import { cli, type CliResult } from '../cli-run/helpers.js';
import { DEMO_ENV } from './helpers.js';

/**
 * `npm run demo` once, then every output it leaves read back: the terminal summary it printed,
 * the `--json` document (`status --json`: run's task entries, from the same state), the report
 * file, the plan written back on the integration branch, and the integration PR's body. For every
 * task they must give one state, one duration and one cost (where they give one at all).
 */
let box: string;
let demo: CliResult;
let json: {
  outcome: string;
  tasks: Array<{
    id: string;
    outcome: TaskOutcome;
    durationMs: number | null;
    usage: { costUsd: number | null } | null;
  }>;
};
let state: ExecutionState;
let report: string;
let planText: string;
let prBody: string;

beforeAll(async () => {
  box = await realpath(await mkdtemp(join(tmpdir(), 'pe-demo-story-')));
  const dir = join(box, 'sample');
  demo = await cli(['demo', '--dir', dir], box, DEMO_ENV);
  const status = await cli(['status', '--json'], dir);
  json = JSON.parse(status.stdout) as typeof json;
  const stateFile = (JSON.parse(status.stdout) as { stateFile: string }).stateFile;
  state = JSON.parse(await readFile(stateFile, 'utf8')) as ExecutionState;
  report = await readFile(state.report_path!, 'utf8');
  const commit = state.report_commit!;
  planText = (await git(dir, ['show', `${commit.sha}:${commit.plan_file!}`])).stdout;
  prBody = integrationPullRequest({
    state,
    base: 'main',
    planLabel: 'Sample Cart',
    group: 'all',
    pullRequest: null,
    runUrl: null,
  }).body;
}, 180_000);

afterAll(async () => {
  await rm(box, { recursive: true, force: true });
});

/** Each output's words for a state, keyed by the JSON outcome. */
const WORDS: Partial<Record<TaskOutcome, { terminal: string; report: string; plan: RegExp }>> = {
  COMPLETE: { terminal: 'complete', report: '✅ COMPLETE', plan: /^- \[x\] .* ✅ (?<time>.+)$/ },
  DROPPED: {
    terminal: 'not merged',
    report: '🚫 NOT MERGED',
    plan: /^- \[ \] .* ❌ failed \(not integrated: .*\)$/,
  },
  FAILED: { terminal: 'failed', report: '❌ FAILED', plan: /^- \[ \] .* ❌ failed \(.*\)$/ },
};

interface Told {
  state: string;
  duration: string | null;
  cost: string | null;
}

function terminalTold(id: string): Told {
  const line = demo.stdout
    .split('\n')
    .find((l) => new RegExp(String.raw`^  \S (${id.replace('.', '\\.')}) `).test(l));
  expect(line, `terminal line of ${id}`).toBeDefined();
  const match = new RegExp(
    String.raw`^  \S ${id.replace('.', '\\.')} (?<state>complete with warnings|complete|no changes|not merged|failed|skipped|cancelled)(?: in (?<time>[^,]+?))?(?:, (?<cost>\$[\d.]+))?(?:,|  )`,
  ).exec(line!);
  return {
    state: match!.groups!['state']!,
    duration: match!.groups!['time'] ?? null,
    cost: match!.groups!['cost'] ?? null,
  };
}

function reportTold(id: string): Told {
  const row = report.split('\n').find((l) => l.startsWith(`| ${id} `))!;
  const [, , , status, duration] = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
  const block = report.slice(report.indexOf(`### ${id}: `));
  const cost = /- \*\*Tokens \/ Cost\*\*: (.*)/.exec(block)![1]!;
  return {
    state: status!,
    duration: duration === '—' ? null : duration!,
    cost: cost === 'not reported by the agent' ? null : (/\$[\d.]+/.exec(cost)?.[0] ?? null),
  };
}

function prTold(id: string): Told {
  const row = prBody.split('\n').find((l) => l.startsWith(`| ${id} `))!;
  const [, , status, duration, cost] = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
  return {
    state: status!,
    duration: duration === '—' ? null : duration!,
    cost: cost === 'not reported' ? null : cost!,
  };
}

describe("the demo's outputs tell one story", () => {
  it('ran as designed: 2.2 (conflict) and 2.4 (bisect culprit) repaired, 2.3 left failed', () => {
    expect(demo.code, demo.stderr).toBe(0);
    expect(json.tasks.map((t) => [t.id, t.outcome])).toEqual([
      ['1.1', 'COMPLETE'],
      ['1.2', 'COMPLETE'],
      ['1.3', 'COMPLETE'],
      ['2.1', 'COMPLETE'],
      ['2.2', 'COMPLETE'],
      ['2.3', 'FAILED'],
      ['2.4', 'COMPLETE'],
    ]);
  });

  it('gives every task the same state, duration and cost in the terminal, JSON, report, plan and PR', () => {
    for (const task of json.tasks) {
      const words = WORDS[task.outcome]!;
      const duration = task.durationMs === null ? null : formatDuration(task.durationMs);
      const cost =
        task.usage?.costUsd === null || task.usage === null ? null : formatCost(task.usage.costUsd);
      expect(terminalTold(task.id), `terminal, ${task.id}`).toEqual({
        state: words.terminal,
        duration,
        cost,
      });
      expect(reportTold(task.id), `report, ${task.id}`).toEqual({
        state: words.report,
        duration,
        cost,
      });
      expect(prTold(task.id), `PR body, ${task.id}`).toEqual({
        state: words.report,
        duration,
        cost,
      });
      const planLine = planText
        .split('\n')
        .find((l) => l.startsWith(`- [`) && l.includes(` ${task.id}: `))!;
      const plan = words.plan.exec(planLine);
      expect(plan, `plan, ${task.id}: ${planLine}`).not.toBeNull();
      // The plan records a duration for the work that landed, the same one.
      if (task.outcome === 'COMPLETE') expect(plan!.groups!['time']).toBe(duration);
    }
  });

  it('gives the execution one verdict and one wall time', () => {
    const wall = formatDuration(Date.parse(state.finished_at!) - Date.parse(state.started_at));
    expect(json.outcome).toBe('PARTIAL');
    expect(demo.stdout).toContain(`: PARTIAL in ${wall}\n`);
    expect(report).toContain(`- **Duration**: ${wall}\n`);
    expect(report).toContain('- **Status**: ⚠️ PARTIAL\n');
  });
});
