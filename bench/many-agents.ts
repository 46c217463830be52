/**
 * Many agents: a plan of 200 tasks run with 8 and then 32 agents at once, every agent printing
 * steadily (whole lines, progress dots without a newline, and its status file) for a few seconds.
 * Measured for the orchestrator process only (its children — git, the agents — not counted):
 * CPU time as a share of the wall time (the seed's target: monitoring ≤ 5 %), the peak RSS, and
 * how both grow from 8 to 32 agents (linear growth would be 4x; the CPU share should stay flat).
 * Run: npx tsx bench/many-agents.ts [tasks=200] [agentSeconds=3]
 */
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { runExecution } from '../src/engine/run/orchestrator.js';
import type { Plan } from '../src/engine/plan/schema.js';
import { task } from '../test/engine/helpers.js';
import { createTempRepo } from '../test/support/git-repo.js';

const tasks = Number(process.argv[2] ?? 200);
const agentSeconds = Number(process.argv[3] ?? 3);

/** Ten steps a second: a line, a dot without a newline, and the status file every step. */
const AGENT = `
steps=$(( ${agentSeconds} * 10 )); i=0
while [ $i -lt $steps ]; do
  echo "step $i of $steps: compiling module $i, 3 warnings, 0 errors"
  printf '.'
  echo "{\\"progress_percent\\": $(( i * 100 / steps )), \\"current_step\\": \\"step $i\\"}" > "$PE_STATUS_FILE"
  sleep 0.1; i=$((i+1))
done
echo done > agent.txt`;

function benchPlan(): Plan {
  return {
    title: 'many agents',
    groups: [],
    tasks: Array.from({ length: tasks }, (_, i) =>
      task(`${i + 1}`, { title: `Busy task ${i + 1}`, estimateHours: null, line: i + 1 }),
    ),
  };
}

interface Measure {
  agents: number;
  wallMs: number;
  cpuMs: number;
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
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await runExecution({
      cwd: repo.dir,
      plan: benchPlan(),
      planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
      group: 'all',
      runner: createCommandRunner({ command: AGENT }),
      env: { PATH: process.env['PATH'] ?? '' },
      settings: { minFreeDiskMb: 0, concurrency: agents },
      onEvent: () => {
        events += 1;
      },
    });
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
    return {
      agents,
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      peakRssMb: peak / 2 ** 20,
      baseRssMb: baseRss / 2 ** 20,
      events,
    };
  } finally {
    clearInterval(sampler);
    await repo.cleanup();
  }
}

const rows: Measure[] = [];
for (const agents of [8, 32]) rows.push(await measure(agents));
console.log(
  `${tasks} tasks, agents printing for ${agentSeconds}s each (orchestrator process only):`,
);
console.log(
  '| agents | wall s | orchestrator CPU s | CPU % of wall | peak RSS MB | RSS growth MB | events |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.agents} | ${(row.wallMs / 1000).toFixed(1)} | ${(row.cpuMs / 1000).toFixed(1)} | ${((100 * row.cpuMs) / row.wallMs).toFixed(1)} % | ${row.peakRssMb.toFixed(0)} | ${(row.peakRssMb - row.baseRssMb).toFixed(0)} | ${row.events} |`,
  );
}
const [few, many] = rows as [Measure, Measure];
const share = (row: Measure) => row.cpuMs / row.wallMs;
console.log(
  `32 vs 8 agents: CPU share ${(share(many) / share(few)).toFixed(2)}x (4x would be linear in agents), ` +
    `RSS growth ${((many.peakRssMb - many.baseRssMb) / Math.max(1, few.peakRssMb - few.baseRssMb)).toFixed(2)}x; ` +
    `target: CPU ≤ 5 % of wall, ${(100 * share(many)).toFixed(1)} % at 32 agents`,
);
