/**
 * Many agents, two measures of the orchestrator process only (its children — git, the agents —
 * not counted), each with 8 and then 32 agents at once, every agent printing steadily (whole
 * lines, progress dots without a newline, and its status file, ten times a second):
 * - monitoring: one wave of as many tasks as agents, printing for `monitorSeconds`; the CPU time
 *   from a second after the last agent started to the first one ending, as a share of that time
 *   (the seed's target: monitoring ≤ 5 % of the execution time);
 * - a plan of 200 tasks whose agents print for `agentSeconds`: the CPU share of the whole run
 *   (set-up, collection and clean-up of 200 tasks included: short tasks make it a per-task cost,
 *   printed per task), the peak RSS, and how both grow from 8 to 32 agents.
 * Run: npx tsx bench/many-agents.ts [tasks=200] [agentSeconds=3] [monitorSeconds=15]
 */
import { execFileSync } from 'node:child_process';
import { statFields } from '../src/engine/agents/proc.js';
import { git } from '../src/engine/workspace/git-exec.js';
import { environReaderPid } from '../src/engine/agents/environ-scan.js';
import { gitHelperPid } from '../src/engine/workspace/git-helper.js';
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { runExecution } from '../src/engine/run/orchestrator.js';
import type { Plan } from '../src/engine/plan/schema.js';
import { task } from '../test/engine/helpers.js';
import { createTempRepo } from '../test/support/git-repo.js';

const tasks = Number(process.argv[2] ?? 200);
const agentSeconds = Number(process.argv[3] ?? 3);
const monitorSeconds = Number(process.argv[4] ?? 15);

/** Ten steps a second: a line, a dot without a newline, and the status file every step. */
const agentCommand = (seconds: number) => `
steps=$(( ${seconds} * 10 )); i=0
while [ $i -lt $steps ]; do
  echo "step $i of $steps: compiling module $i, 3 warnings, 0 errors"
  printf '.'
  echo "{\\"progress_percent\\": $(( i * 100 / steps )), \\"current_step\\": \\"step $i\\"}" > "$PE_STATUS_FILE"
  sleep 0.1; i=$((i+1))
done
echo done > agent.txt`;

function benchPlan(count = tasks): Plan {
  return {
    title: 'many agents',
    groups: [],
    tasks: Array.from({ length: count }, (_, i) =>
      task(`${i + 1}`, { title: `Busy task ${i + 1}`, estimateHours: null, line: i + 1 }),
    ),
  };
}

/**
 * CPU the tool's helper processes have used so far, in ms: the git helper (workspace/git-helper.ts),
 * which starts the engine's git commands so that the orchestrator need not fork itself for each,
 * and the environment reader (agents/environ-scan.ts), which looks for what agents left running.
 * Their CPU is the orchestrator's too, on another core. A process started during a measure
 * counts from nothing.
 */
async function helperCpuMs(): Promise<number> {
  await git(process.cwd(), ['--version']);
  const pid = gitHelperPid();
  if (pid === null || statFields(pid) === null) throw new Error('the git helper is not running');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const cpu = (of: number | null) => {
    const fields = of === null ? null : statFields(of);
    // utime and stime: fields 14 and 15 of proc(5).
    return fields === null ? 0 : ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
  };
  return cpu(pid) + cpu(environReaderPid());
}

interface Measure {
  agents: number;
  wallMs: number;
  cpuMs: number;
  helperMs: number;
  peakRssMb: number;
  baseRssMb: number;
  events: number;
}

async function measure(agents: number): Promise<Measure> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i += 1) files[`src/m${i}.ts`] = `export const v${i} = ${i};\n`;
  const repo = await createTempRepo({ files });
  global.gc?.();
  const baseRss = process.memoryUsage.rss();
  let peak = baseRss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  let events = 0;
  try {
    const helperBefore = await helperCpuMs();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await runExecution({
      cwd: repo.dir,
      plan: benchPlan(),
      planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
      group: 'all',
      runner: createCommandRunner({ command: agentCommand(agentSeconds) }),
      env: { PATH: process.env['PATH'] ?? '' },
      settings: { minFreeDiskMb: 0, concurrency: agents },
      onEvent: () => {
        events += 1;
      },
    });
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const helperMs = (await helperCpuMs()) - helperBefore;
    if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
    return {
      agents,
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      helperMs,
      peakRssMb: peak / 2 ** 20,
      baseRssMb: baseRss / 2 ** 20,
      events,
    };
  } finally {
    clearInterval(sampler);
    await repo.cleanup();
  }
}

/**
 * One wave of `agents` tasks printing for `monitorSeconds`: the orchestrator's CPU from a second
 * after the last agent started until the first one ends (nothing but watching them then).
 */
async function monitoring(agents: number): Promise<{ cpuMs: number; wallMs: number }> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i += 1) files[`src/m${i}.ts`] = `export const v${i} = ${i};\n`;
  const repo = await createTempRepo({ files });
  let running = 0;
  let from: { cpu: NodeJS.CpuUsage; at: number } | null = null;
  let window: { cpuMs: number; wallMs: number } | null = null;
  let settle: NodeJS.Timeout | undefined;
  try {
    const result = await runExecution({
      cwd: repo.dir,
      plan: benchPlan(agents),
      planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
      group: 'all',
      runner: createCommandRunner({ command: agentCommand(monitorSeconds) }),
      env: { PATH: process.env['PATH'] ?? '' },
      settings: { minFreeDiskMb: 0, concurrency: agents },
      onEvent: (event) => {
        if (event.type !== 'task-status') return;
        if (event.status === 'in_progress' && (running += 1) === agents) {
          settle = setTimeout(
            () => (from = { cpu: process.cpuUsage(), at: performance.now() }),
            1000,
          );
        }
        if (event.status === 'collecting' && from !== null && window === null) {
          const used = process.cpuUsage(from.cpu);
          window = { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - from.at };
        }
      },
    });
    if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
    if (window === null) throw new Error('no window in which every agent was running');
    return window;
  } finally {
    clearTimeout(settle);
    await repo.cleanup();
  }
}

const watched: Array<{ agents: number; cpuMs: number; wallMs: number }> = [];
for (const agents of [8, 32]) watched.push({ agents, ...(await monitoring(agents)) });
console.log(
  `Monitoring: one wave of agents printing for ${monitorSeconds}s (orchestrator process only, while every agent runs):`,
);
console.log('| agents | window s | orchestrator CPU s | CPU % of the window (target ≤ 5 %) |');
console.log('|---|---|---|---|');
for (const row of watched) {
  console.log(
    `| ${row.agents} | ${(row.wallMs / 1000).toFixed(1)} | ${(row.cpuMs / 1000).toFixed(2)} | ${((100 * row.cpuMs) / row.wallMs).toFixed(1)} % |`,
  );
}

const rows: Measure[] = [];
for (const agents of [8, 32]) rows.push(await measure(agents));
console.log(
  `${tasks} tasks, agents printing for ${agentSeconds}s each (the orchestrator process, and its helper processes: the one that starts its git commands, the one that reads environments, over the whole run):`,
);
console.log(
  '| agents | wall s | orchestrator CPU s | CPU % of wall | CPU ms per task | helper processes CPU ms per task (git, environments) | peak RSS MB | RSS growth MB | events |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.agents} | ${(row.wallMs / 1000).toFixed(1)} | ${(row.cpuMs / 1000).toFixed(1)} | ${((100 * row.cpuMs) / row.wallMs).toFixed(1)} % | ${(row.cpuMs / tasks).toFixed(0)} | ${(row.helperMs / tasks).toFixed(0)} | ${row.peakRssMb.toFixed(0)} | ${(row.peakRssMb - row.baseRssMb).toFixed(0)} | ${row.events} |`,
  );
}
const [few, many] = rows as [Measure, Measure];
const share = (row: Measure) => row.cpuMs / row.wallMs;
console.log(
  `32 vs 8 agents: CPU share ${(share(many) / share(few)).toFixed(2)}x (4x would be linear in agents), ` +
    `RSS growth ${((many.peakRssMb - many.baseRssMb) / Math.max(1, few.peakRssMb - few.baseRssMb)).toFixed(2)}x. ` +
    `With tasks of ${agentSeconds}s the run's share is mostly each task's set-up and collection (git processes), ` +
    `not monitoring: at ${(many.cpuMs / tasks).toFixed(0)} ms a task, 32 agents working 10 minutes each would spend ` +
    `${((100 * 32 * (many.cpuMs / tasks)) / 600_000).toFixed(2)} % of the wall time on it`,
);
