/**
 * How much earlier the dependency-driven schedule finishes than the seed's group-by-group one,
 * on the real plans of the corpus, with the plans' own estimates as task durations (tasks without
 * an estimate take the plan's median estimate, or 1 h). Both schedules go through the real
 * scheduler (`readyTasks`, one task per agent at a time) in virtual time.
 * Run: npx tsx bench/dag-vs-groups.ts [plansDir] [concurrency]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePlan } from '../src/engine/plan/parse.js';
import { simulateSchedule, type SimulatedTask } from '../src/engine/schedule/simulate.js';
import { sharedPlansDir } from '../test/plan/helpers.js';

const dir = process.argv[2] || sharedPlansDir();
const concurrency = process.argv[3] === undefined ? null : Number(process.argv[3]);
const HOUR = 3_600_000;

const rows: string[][] = [];
let totalGroups = 0;
let totalDag = 0;
for (const name of readdirSync(dir)
  .filter((file) => file.endsWith('.md') && file !== 'README.md')
  .sort()) {
  const { plan } = parsePlan(readFileSync(join(dir, name), 'utf8'));
  if (plan.tasks.length === 0) continue;
  const estimates = plan.tasks
    .map((t) => t.estimateHours)
    .filter((h): h is number => h !== null && h > 0);
  const fallback =
    estimates.length > 0
      ? [...estimates].sort((a, b) => a - b)[Math.floor(estimates.length / 2)]!
      : 1;
  const tasks: SimulatedTask[] = plan.tasks.map((task) => ({
    id: task.id,
    dependsOn: task.dependsOn,
    agents: task.agents,
    group: task.group,
    durationMs:
      (task.estimateHours && task.estimateHours > 0 ? task.estimateHours : fallback) * HOUR,
  }));
  let groups: number;
  let dag: number;
  try {
    groups = simulateSchedule(tasks, { mode: 'groups', concurrency }).makespanMs;
    dag = simulateSchedule(tasks, { mode: 'dag', concurrency }).makespanMs;
  } catch (error) {
    rows.push([
      short(name),
      String(tasks.length),
      '',
      '',
      '',
      '',
      `not schedulable: ${(error as Error).message.slice(0, 60)}`,
    ]);
    continue;
  }
  totalGroups += groups;
  totalDag += dag;
  const sequential = tasks.reduce((sum, t) => sum + t.durationMs, 0);
  const groupCount = new Set(plan.tasks.map((t) => t.group)).size;
  rows.push([
    short(name),
    String(tasks.length),
    String(groupCount),
    `${estimates.length}/${tasks.length}`,
    hours(sequential),
    hours(groups),
    hours(dag),
    `${(((groups - dag) / groups) * 100).toFixed(0)}%`,
  ]);
}

const header = [
  'plan',
  'tasks',
  'groups',
  'estimated',
  'sequential',
  'group-by-group',
  'DAG',
  'earlier by',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(`concurrency: ${concurrency ?? 'unlimited'}; durations in hours (plan estimates)`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(
  `all plans: group-by-group ${hours(totalGroups)} h, DAG ${hours(totalDag)} h, earlier by ${(((totalGroups - totalDag) / totalGroups) * 100).toFixed(0)}%`,
);

function hours(ms: number): string {
  return (ms / HOUR).toFixed(1);
}

function short(name: string): string {
  return name.replace(/__MULTI_?AGENT_PLAN\.md$/i, '').slice(0, 40);
}
