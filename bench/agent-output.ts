/**
 * Agent output through the orchestrator: an agent printing 2 MB as 1 KB writes (a steady ~1 MB/s
 * of small writes, like a verbose test run) measured by itself, with its output read by the
 * orchestrator (pipes read in bursts for quiet agents) against the same loop writing to /dev/null,
 * both in this run. The log must hold every byte.
 * Run: npx tsx bench/agent-output.ts [rounds=3]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { runExecution } from '../src/engine/run/orchestrator.js';
import type { Plan } from '../src/engine/plan/schema.js';
import { task } from '../test/engine/helpers.js';
import { createTempRepo } from '../test/support/git-repo.js';

const rounds = Number(process.argv[2] ?? 3);
/** Prints 2 MB in 1 KB writes, eight at a time then a short sleep; writes its own duration (ms). */
const LOOP =
  "s=$(date +%s%N); i=0; while [ $i -lt 250 ]; do for j in 1 2 3 4 5 6 7 8; do printf '%1023s\\n' x; done; sleep 0.002; i=$((i+1)); done";
const TIMED = `${LOOP}; e=$(date +%s%N); echo $(( (e-s)/1000000 )) > "$OUT_MS"`;

async function alone(file: string): Promise<number> {
  const child = spawn(
    'sh',
    ['-c', `{ ${LOOP}; } > /dev/null; e=$(date +%s%N); echo $(( (e-s)/1000000 )) > "$OUT_MS"`],
    {
      env: { PATH: process.env['PATH'] ?? '', OUT_MS: file },
      stdio: 'ignore',
    },
  );
  await once(child, 'exit');
  return Number((await readFile(file, 'utf8')).trim());
}

async function orchestrated(file: string): Promise<{ ms: number; logged: number }> {
  const repo = await createTempRepo({ files: { 'README.md': 'bench\n' } });
  try {
    const plan: Plan = {
      title: 'output bench',
      groups: [],
      tasks: [task('1', { title: 'Print a lot', estimateHours: null, line: 1 })],
    };
    const result = await runExecution({
      cwd: repo.dir,
      plan,
      planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
      group: 'all',
      runner: createCommandRunner({ command: `${TIMED}; echo done > out.txt` }),
      env: { PATH: process.env['PATH'] ?? '', OUT_MS: file },
      settings: { minFreeDiskMb: 0 },
    });
    if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
    const logged = (await stat(result.state.tasks['1']!.log_file)).size;
    return { ms: Number((await readFile(file, 'utf8')).trim()), logged };
  } finally {
    await repo.cleanup();
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const file = join(tmpdir(), `agent-output-${process.pid}.ms`);
const base: number[] = [];
const ours: number[] = [];
let logged = 0;
for (let round = 0; round < rounds; round += 1) {
  base.push(await alone(file));
  const run = await orchestrated(file);
  ours.push(run.ms);
  logged = run.logged;
}
const [b, a] = [median(base), median(ours)];
console.log(`An agent printing 2 MB in 1 KB writes, ${rounds} rounds (medians):`);
console.log(`  to /dev/null                        ${b} ms`);
console.log(`  read by parallel-executor           ${a} ms   ratio ${(a / b).toFixed(2)}x`);
console.log(`  its log holds ${logged} bytes (printed: ${250 * 8 * 1024})`);
