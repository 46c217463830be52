/**
 * Parse + validate a 1,000-task plan, against a bare remark + remark-gfm parse of the same text
 * measured in the same run (median of several runs). Run: npx tsx bench/parse.ts
 */
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { parsePlan } from '../src/engine/plan/parse.js';
import { validatePlan } from '../src/engine/plan/validate.js';
import { computeWaves } from '../src/engine/schedule/graph.js';

const TASKS = 1000;
const GROUPS = 20;
const RUNS = 7;

/** Seed dialect: 20 Parallel Groups of 50 task lines, each with criteria and a file claim. */
function seedPlan(): string {
  const lines = ['# MULTI_AGENT_PLAN.md: benchmark', ''];
  const perGroup = TASKS / GROUPS;
  for (let group = 1; group <= GROUPS; group += 1) {
    lines.push(
      `## Parallel Group ${group}: Area ${group}`,
      `**Duration**: ${(group % 3) + 1} days`,
      `**Dependencies**: ${group === 1 ? 'None' : `Group ${group - 1} complete`}`,
      '',
    );
    for (let task = 1; task <= perGroup; task += 1) {
      const done = (group * perGroup + task) % 7 === 0;
      lines.push(
        `- [${done ? 'x' : ' '}] ${group}.${task}: Implement feature ${group}-${task} (Builder-${(task % 8) + 1}, ${(task % 5) + 1}h)${done ? ' ✅ 1h 2min' : ''}`,
        `  - **Files**: \`src/area${group}/feature${task}.ts\``,
        `  - [ ] Unit tests for feature ${group}-${task} pass`,
        `  - [ ] Documented in docs/area${group}.md`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Table board: one Task Assignment Matrix of 1,000 rows with ranges and lists as dependencies. */
function tablePlan(): string {
  const lines = [
    '# Task Assignment Matrix',
    '',
    '| Task ID | Description | Agent | Worktree | Branch | Parallel Group | Status | Dependencies | Estimate |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (let n = 1; n <= TASKS; n += 1) {
    const wave = Math.ceil(n / (TASKS / GROUPS));
    const deps =
      n <= TASKS / GROUPS ? '-' : n % 3 === 0 ? `T${n - 50}-T${n - 48}` : `T${n - 50}, T${n - 49}`;
    lines.push(
      `| T${n} | Build component ${n} | Builder-${(n % 8) + 1} / \`builder-skill\` | \`../wt/t${n}\` | \`feature/t${n}\` | ${wave} | ${n % 11 === 0 ? '✅ Completed' : 'Not Started'} | ${deps} | ${(n % 4) + 1}h |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const remark = unified().use(remarkParse).use(remarkGfm);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function measure(name: string, text: string): void {
  let tasks = 0;
  const ours = () => {
    const { plan } = parsePlan(text);
    validatePlan(plan);
    computeWaves(plan.tasks);
    tasks = plan.tasks.length;
  };
  const bare = () => remark.parse(text);
  ours();
  bare(); // warm up both
  const oursMs: number[] = [];
  const bareMs: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    bareMs.push(time(bare));
    oursMs.push(time(ours));
  }
  const o = median(oursMs);
  const b = median(bareMs);
  console.log(
    `${name.padEnd(12)} ${String(tasks).padStart(5)} tasks  ${(text.length / 1024).toFixed(0).padStart(4)} KiB  ` +
      `parse+validate ${o.toFixed(1).padStart(7)} ms   bare remark ${b.toFixed(1).padStart(7)} ms   ratio ${(o / b).toFixed(2)}x`,
  );
  if (tasks !== TASKS) throw new Error(`${name}: expected ${TASKS} tasks, parsed ${tasks}`);
}

console.log(`median of ${RUNS} runs, same process, same text\n`);
measure('seed groups', seedPlan());
measure('table board', tablePlan());
