/**
 * How long a run takes to fail on a refused API key: 2 tasks, `--retries 1`, the real Claude Code
 * CLI against a scripted model that answers every call with 401. The CLI alone retries a 401 for
 * minutes (a run like this took 362 s before the fail-fast); the target is under 30 s. Baseline,
 * measured in the same run: the same 2-task execution against a model that answers at once.
 * Run: npx tsx bench/bad-key.ts [runs]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecution } from '../src/engine/run/orchestrator.js';
import { FAST, plan, task } from '../test/engine/helpers.js';
import { claudeEnv, claudeRunner } from '../test/support/claude-cli.js';
import { createTempRepo } from '../test/support/git-repo.js';
import { startScriptedModel, type ScriptedTurn } from '../test/support/scripted-model.js';

const runs = Number(process.argv[2] ?? 3);

async function timeRun(script: ScriptedTurn[]): Promise<{ ms: number; reasons: string[] }> {
  const repo = await createTempRepo({ files: { 'README.md': '# app\n' } });
  const home = await mkdtemp(join(tmpdir(), 'pe-bench-home-'));
  const model = await startScriptedModel(script);
  try {
    const env = claudeEnv(home, model.url, 'sk-ant-bench');
    const started = performance.now();
    const { state } = await runExecution({
      cwd: repo.dir,
      plan: plan([task('1.1'), task('1.2')]),
      planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
      group: 'all',
      runner: claudeRunner(env, repo.dir, ['Read'], 10_000),
      env,
      // The default limits (60 min, 10 min idle, 10 s grace): only the fail-fast can end it early.
      settings: {
        ...FAST,
        retries: 1,
        taskTimeoutMs: 60 * 60_000,
        idleTimeoutMs: 10 * 60_000,
        graceMs: 10_000,
      },
    });
    const ms = performance.now() - started;
    return { ms, reasons: Object.values(state.tasks).map((run) => run.reason ?? run.status) };
  } finally {
    await model.close();
    await repo.cleanup();
    await rm(home, { recursive: true, force: true });
  }
}

const refused = { status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' };
const answers = { blocks: [{ type: 'text' as const, text: 'Nothing to do.' }] };
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const bad: number[] = [];
const good: number[] = [];
let reasons: string[] = [];
for (let i = 0; i < runs; i++) {
  const failed = await timeRun(Array.from({ length: 40 }, () => refused));
  bad.push(failed.ms);
  reasons = failed.reasons;
  good.push((await timeRun([answers, answers])).ms);
}
const badMs = median(bad);
const goodMs = median(good);
console.log(`runs: ${runs} (median)`);
console.log(`2 tasks, --retries 1, every call 401: ${(badMs / 1000).toFixed(1)} s (target < 30 s)`);
console.log(`  reasons: ${reasons.join(' | ')}`);
console.log(`baseline, same run answered at once: ${(goodMs / 1000).toFixed(1)} s`);
console.log(`ratio bad key / baseline: ${(badMs / goodMs).toFixed(2)}×`);
