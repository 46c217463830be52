/**
 * Chaos scenarios for the work-safety invariant (issue 9): a seeded generator of small
 * repositories, plans and misbehaving agents, and a driver that runs the real CLI as a subprocess
 * (`run`, maybe SIGKILLed at a random moment, then `resume`, then maybe `clean [--force]`) and checks the
 * invariant from the outside with the agents' ledger. A scenario is fully determined by its seed,
 * so a failure is replayed with `npx tsx bench/chaos.ts --seed S --runs 1`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import type { ExecutionState, TaskRunStatus } from '../../src/engine/state/schema.js';
import { STATE_FILE } from '../../src/engine/monitor/state-store.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { TOOL_DIR } from '../../src/engine/workspace/repo.js';
import { createTempRepo, tempDir } from './git-repo.js';
import {
  checkInvariant,
  readLedger,
  snapshotCheckout,
  type CheckoutSnapshot,
  type InvariantReport,
  type LedgerEntry,
} from './invariant.js';
import {
  BEHAVIOURS,
  BEHAVIOUR_NAMES,
  CONFLICT_BRANCH,
  CONFLICT_FILE,
  EXTRA_BEHAVIOURS,
  taskSlug,
  writeAgents,
  type BehaviourName,
} from './messy-agents.js';

const BIN = resolve(import.meta.dirname, '../../src/cli/bin.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface TaskSpec {
  id: string;
  dependsOn: string[];
  behaviours: BehaviourName[];
}

/** When the orchestrator gets its SIGKILL: a delay after the state file appears, or a phase. */
export type KillTrigger =
  | { kind: 'delay'; ms: number }
  | { kind: 'phase'; phase: 'collecting' | 'validating' | 'integrating' };

export interface Scenario {
  seed: number;
  tasks: TaskSpec[];
  retries: 0 | 1;
  kill: { trigger: KillTrigger; retryFailed: boolean } | null;
  /** After the run: nothing, `clean`, or `clean --force` (which removes kept worktrees too). */
  clean: 'none' | 'clean' | 'force';
}

// ---------------------------------------------------------------------------------------------
// Generation

/** Behaviours that leave the worktree mid-merge or mid-rebase, and those that end the script. */
const MID_OPERATION = BEHAVIOUR_NAMES.filter((name) => BEHAVIOURS[name].phase === 'midOperation');
const EXITS = BEHAVIOUR_NAMES.filter((name) => BEHAVIOURS[name].phase === 'exit');

/** The behaviours a scenario draws from: the first set, or with the later ones (`extra`). */
function namesFor(extra: boolean): BehaviourName[] {
  return extra ? BEHAVIOUR_NAMES : BEHAVIOUR_NAMES.filter((n) => !EXTRA_BEHAVIOURS.includes(n));
}

/** Ordinary work is what agents mostly do: weight it so the odd behaviours stay a minority. */
function behaviourArb(extra: boolean): fc.Arbitrary<BehaviourName> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<BehaviourName>('commit', 'uncommitted') },
    { weight: 4, arbitrary: fc.constantFrom(...namesFor(extra)) },
  );
}

function agentArb(extra: boolean): fc.Arbitrary<BehaviourName[]> {
  return fc.array(behaviourArb(extra), { minLength: 1, maxLength: 4 }).map((names) => {
    // One of each, at most one mid-operation piece (a second one cannot start) and one exit.
    const unique = [...new Set(names)];
    const mid = unique.find((name) => MID_OPERATION.includes(name));
    const exit = unique.find((name) => EXITS.includes(name));
    return unique.filter(
      (name) =>
        (!MID_OPERATION.includes(name) || name === mid) && (!EXITS.includes(name) || name === exit),
    );
  });
}

const killArb: fc.Arbitrary<Scenario['kill']> = fc.option(
  fc.record({
    trigger: fc.oneof(
      fc.record({ kind: fc.constant('delay' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
      fc.record({
        kind: fc.constant('phase' as const),
        phase: fc.constantFrom(
          'collecting' as const,
          'validating' as const,
          'integrating' as const,
        ),
      }),
    ),
    retryFailed: fc.boolean(),
  }),
  { freq: 2 },
);

function scenarioArb(seed: number, extra: boolean): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 2, max: 4 }).chain((count) => {
    const ids = Array.from({ length: count }, (_, i) => `1.${i + 1}`);
    const tasks = fc.tuple(
      ...ids.map((id, i) =>
        fc.record({
          id: fc.constant(id),
          dependsOn: fc.oneof(
            { weight: 2, arbitrary: fc.constant<string[]>([]) },
            { weight: 1, arbitrary: fc.subarray(ids.slice(0, i)) },
          ),
          behaviours: agentArb(extra),
        }),
      ),
    );
    return fc.record({
      seed: fc.constant(seed),
      tasks,
      retries: fc.constantFrom<0 | 1>(0, 1),
      kill: killArb,
      clean: fc.constantFrom<Scenario['clean']>('none', 'clean', 'force'),
    });
  });
}

/**
 * The scenario a seed stands for; the same seed always gives the same scenario. `extra` draws
 * from the behaviours added later too (EXTRA_BEHAVIOURS): another scenario for the same seed.
 */
export function scenarioFor(seed: number, extra = false): Scenario {
  return fc.sample(scenarioArb(seed, extra), { seed, numRuns: 1 })[0]!;
}

export function describeScenario(scenario: Scenario): string {
  const tasks = scenario.tasks.map((task) => {
    const deps = task.dependsOn.length === 0 ? '' : ` after ${task.dependsOn.join('+')}`;
    return `${task.id}${deps}: ${task.behaviours.join(',')}`;
  });
  const kill =
    scenario.kill === null
      ? 'no kill'
      : `kill -9 ${
          scenario.kill.trigger.kind === 'delay'
            ? `${scenario.kill.trigger.ms}ms into the run`
            : `when ${scenario.kill.trigger.phase}`
        }, resume${scenario.kill.retryFailed ? ' --retry-failed' : ''}`;
  return [
    `seed ${scenario.seed}`,
    ...tasks,
    `retries ${scenario.retries}`,
    kill,
    scenario.clean === 'none' ? 'no clean' : scenario.clean === 'force' ? 'clean --force' : 'clean',
  ].join('; ');
}

// ---------------------------------------------------------------------------------------------
// The repository and its plan

/** The seed dialect (as in test/cli-run/markdown-plan.test.ts): one group, task-level deps. */
export function planMarkdown(scenario: Scenario): string {
  const lines = [
    `# Plan: Chaos ${scenario.seed}`,
    '',
    '## Parallel Group 1: Work',
    '**Dependencies**: None',
    '',
  ];
  scenario.tasks.forEach((task, i) => {
    lines.push(`- [ ] Task ${task.id}: Write part ${task.id} (Agent: Builder-${i + 1}, Est: 1h)`);
    lines.push(`  - [ ] part ${task.id} is written`);
    if (task.dependsOn.length > 0) lines.push(`  - **Depends on**: ${task.dependsOn.join(', ')}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Validation and integration tests that pass and take a moment: cheap, yet long enough for a
 * kill to land while a task is validating or the integration is being tested.
 */
const CONFIG = `validation:
  tests: "sleep 0.3"
integration:
  testCommand: "sleep 0.3"
`;

/**
 * Two commits on `main` (so an agent can reset below its start), a user branch that conflicts
 * with agents' `notes.txt` edits, a tag and a stash entry: all things the run must leave alone.
 */
async function seedRepository(scenario: Scenario) {
  const repo = await createTempRepo({
    files: {
      'README.md': '# chaos\n',
      [CONFLICT_FILE]: 'base notes\n',
      'src/a.txt': 'a\n',
      'MULTI_AGENT_PLAN.md': planMarkdown(scenario),
      '.github/parallel-executor.yml': CONFIG,
    },
  });
  await repo.write('src/b.txt', 'b\n');
  await repo.commit('second commit');
  await repo.git(['tag', 'v0']);
  await repo.git(['checkout', '-q', '-b', CONFLICT_BRANCH]);
  await repo.write(CONFLICT_FILE, 'notes from the feature branch\n');
  await repo.commit('feature work');
  await repo.git(['checkout', '-q', 'main']);
  await repo.write('README.md', '# chaos\nwork in progress\n');
  await repo.git(['stash', 'push', '-q', '-m', 'user stash']);
  return repo;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface StepResult {
  command: string;
  code: number | null;
  ms: number;
  killed: boolean;
  stderrTail: string;
}

export interface ScenarioResult {
  seed: number;
  description: string;
  report: InvariantReport;
  /** Each violation with what it goes with, to count failures by kind. */
  causes: Cause[];
  /**
   * Lost items (as the checker words them) still in the worktree of a failed or cancelled task:
   * the tool keeps such a worktree as the agent left it, so they are not counted in `report`
   * (`clean --force` must then keep them under a ref, which a scenario checks when it runs it).
   */
  inFailedWorktrees: string[];
  steps: StepResult[];
  /** Things that are not the invariant but worth knowing: a crash, a hang, a kill that missed. */
  notes: string[];
  /** Each task's final status, attempts and reason, as the state file has them. */
  outcome: string;
}

export interface RunOptions {
  /** Per CLI invocation; past it the process is killed and the scenario notes a hang. */
  stepTimeoutMs?: number;
  /** Leave the repository and the ledger in place (their paths go to the notes) to look at them. */
  keep?: boolean;
}

const SETTLED: ReadonlySet<TaskRunStatus> = new Set([
  'completed',
  'failed',
  'skipped',
  'cancelled',
]);

async function readState(repoDir: string): Promise<ExecutionState | null> {
  const dir = join(repoDir, TOOL_DIR, 'executions');
  const [id] = await readdir(dir).catch(() => [] as string[]);
  if (id === undefined) return null;
  const text = await readFile(join(dir, id, STATE_FILE), 'utf8').catch(() => null);
  try {
    return text === null ? null : (JSON.parse(text) as ExecutionState);
  } catch {
    return null;
  }
}

function triggerReached(state: ExecutionState, trigger: KillTrigger): boolean {
  if (trigger.kind === 'delay') return true;
  const runs = Object.values(state.tasks);
  if (trigger.phase !== 'integrating') return runs.some((run) => run.status === trigger.phase);
  // The execution already says `completed` while its integration is being built: the moment
  // between the last task settling and the integration result being recorded is the window.
  return (
    state.integration === null &&
    runs.some((run) => run.status === 'completed') &&
    runs.every((run) => SETTLED.has(run.status))
  );
}

interface Child {
  exited: Promise<StepResult>;
  kill(): void;
}

function startCli(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Child {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', TSX, BIN, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let killed = false;
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const kill = () => {
    killed = true;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(kill, timeoutMs);
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(timer);
    return {
      command: args.filter((arg) => !arg.startsWith('exec sh')).join(' '),
      code: code as number | null,
      ms: Date.now() - started,
      killed,
      stderrTail: stderr.split('\n').slice(-8).join('\n'),
    };
  });
  return { exited, kill };
}

/** SIGKILL the orchestrator once the trigger is seen; false when it ended first. */
async function killWhen(
  child: Child,
  repoDir: string,
  trigger: KillTrigger,
  done: () => boolean,
): Promise<boolean> {
  let sinceState: number | null = null;
  while (!done()) {
    const state = await readState(repoDir);
    if (state !== null) {
      sinceState ??= Date.now();
      const waited = trigger.kind === 'delay' ? Date.now() - sinceState >= trigger.ms : true;
      if (waited && triggerReached(state, trigger)) {
        child.kill();
        return true;
      }
    }
    await delay(20);
  }
  return false;
}

/** End what the agents left running (their shells and daemons, by the pids they recorded). */
async function endLeftovers(ledgerDir: string, scratchDir: string): Promise<number> {
  const text = await readFile(join(ledgerDir, 'pids'), 'utf8').catch(() => '');
  let ended = 0;
  for (const pid of text.split('\n').filter(Boolean).map(Number)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Only our own: an agent shell runs a script from our scratch folder; a daemon is `sleep 20`.
    if (!cmdline.includes(scratchDir) && cmdline !== 'sleep\u000020\u0000') continue;
    try {
      process.kill(pid, 'SIGKILL');
      ended += 1;
    } catch {
      // Gone meanwhile.
    }
  }
  return ended;
}

export async function runScenario(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const timeoutMs = options.stepTimeoutMs ?? 90_000;
  const repo = await seedRepository(scenario);
  const box = await tempDir('chaos');
  const ledgerDir = join(box.path, 'ledger');
  await mkdir(ledgerDir);
  const steps: StepResult[] = [];
  const notes: string[] = [];
  try {
    const agentCommand = await writeAgents(
      join(box.path, 'agents'),
      Object.fromEntries(scenario.tasks.map((task) => [task.id, task.behaviours])),
    );
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: box.path,
      LEDGER: ledgerDir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    };
    const bounds = ['--task-timeout', '60s', '--idle-timeout', '30s'];
    const before: CheckoutSnapshot = await snapshotCheckout(repo.dir);

    const runArgs = ['run', '--agent-command', agentCommand, '--json', ...bounds];
    if (scenario.retries > 0) runArgs.push('--retries', String(scenario.retries));
    const orchestrator = startCli(runArgs, repo.dir, env, timeoutMs);
    let finished = false;
    const exited = orchestrator.exited.then((step) => {
      finished = true;
      return step;
    });
    const killed =
      scenario.kill !== null &&
      (await killWhen(orchestrator, repo.dir, scenario.kill.trigger, () => finished));
    const first = await exited;
    steps.push(first);
    if (first.killed && !killed) notes.push(`run hung past ${timeoutMs}ms and was killed`);
    if (scenario.kill !== null && !killed) notes.push('the kill did not land: run ended first');

    if (killed) {
      const resumeArgs = ['resume', '--json', ...bounds];
      if (scenario.kill!.retryFailed) resumeArgs.push('--retry-failed');
      steps.push(await startCli(resumeArgs, repo.dir, env, timeoutMs).exited);
    }
    if (scenario.clean !== 'none') {
      const cleanArgs = ['clean', '--json', ...(scenario.clean === 'force' ? ['--force'] : [])];
      steps.push(await startCli(cleanArgs, repo.dir, env, timeoutMs).exited);
    }
    for (const step of steps) {
      if (step.code !== 0 && step.code !== 1 && !(step === first && killed)) {
        notes.push(`${step.command.split(' ')[0]} exited ${step.code}: ${step.stderrTail.trim()}`);
      }
    }

    const ended = await endLeftovers(ledgerDir, box.path);
    if (ended > 0) notes.push(`${ended} agent process(es) still running after the last command`);
    const state = await readState(repo.dir);
    const ledger = await readLedger(ledgerDir);
    if (state === null) {
      notes.push('no state file');
      return {
        seed: scenario.seed,
        description: describeScenario(scenario),
        report: {
          lostCommits: ledger.filter((e) => e.commit).map((e) => `${e.task}: ${e.commit}`),
          lostUncommitted: ledger
            .filter((e) => e.uncommitted)
            .map((e) => `${e.task}: ${e.uncommitted}`),
          falseMerges: [],
          unreportedCheckoutChanges: [],
          ok: ledger.length === 0,
        },
        causes: [],
        inFailedWorktrees: [],
        steps,
        notes,
        outcome: 'no state file',
      };
    }
    const checked = await checkInvariant({ repoRoot: repo.dir, state, ledger, before });
    const causes = await causesOf({
      repoRoot: repo.dir,
      scenario,
      state,
      ledger,
      ledgerDir,
      report: checked,
    });
    const inFailedWorktrees = causes.filter((c) => c.inFailedWorktree === true).map((c) => c.item);
    return {
      seed: scenario.seed,
      description: describeScenario(scenario),
      // Strict: work only in a failed task's kept worktree counts as lost (the engine keeps it under a
      // ref when the task fails); `inFailedWorktrees` tells such items apart in the output.
      report: checked,
      inFailedWorktrees,
      causes,
      steps,
      notes,
      outcome: outcomeOf(state),
    };
  } finally {
    await endLeftovers(ledgerDir, box.path);
    if (options.keep === true) {
      notes.push(`kept: repository ${repo.dir}, ledger and agents ${box.path}`);
    } else {
      await repo.cleanup();
      await box.remove();
    }
  }
}

function outcomeOf(state: ExecutionState): string {
  const tasks = Object.values(state.tasks).map((run) => {
    const kept = run.kept_refs?.length ? `, ${run.kept_refs.length} kept ref(s)` : '';
    const reason = run.reason === null ? '' : `: ${run.reason.slice(0, 160)}`;
    return `${run.task_id} ${run.status} (${run.attempts} attempt(s)${kept})${reason}`;
  });
  const merged = state.integration?.merged.join(',') ?? '-';
  return `execution ${state.status}, merged ${merged}; ${tasks.join('; ')}`;
}

/** A ledger line the checker counts as lost, as its report words it. */
interface LostEntry {
  entry: LedgerEntry & { pid?: number };
  item: string;
  kind: 'commit' | 'file';
}

const itemOf = (entry: LedgerEntry) =>
  `${entry.task ?? '?'}: ${entry.commit ?? entry.uncommitted ?? ''}`;

/**
 * The ledger lines behind the report's lost items. Two attempts leave the same file (notes.txt)
 * under the same item, so an ambiguous item is decided by checking its line alone.
 */
async function lostEntries(
  repoRoot: string,
  state: ExecutionState,
  ledger: LedgerEntry[],
  report: InvariantReport,
): Promise<LostEntry[]> {
  const lostItems = new Set([...report.lostCommits, ...report.lostUncommitted]);
  const lost: LostEntry[] = [];
  for (const entry of ledger) {
    const item = itemOf(entry);
    if (!lostItems.has(item)) continue;
    const twins = ledger.filter((other) => itemOf(other) === item).length;
    if (twins > 1 && (await checkInvariant({ repoRoot, state, ledger: [entry] })).ok) continue;
    lost.push({ entry, item, kind: entry.commit !== undefined ? 'commit' : 'file' });
  }
  return lost;
}

/**
 * A commit or file the checker counts as lost may still sit in a worktree the tool kept (a failed
 * task's): in no ref, so still a violation, but a different fix. A file is looked for in every
 * task's worktree (an agent writes into another task's too). The task whose worktree holds it, or
 * null.
 */
async function keptWorktreeOf(state: ExecutionState, { entry }: LostEntry): Promise<string | null> {
  const own = state.tasks[entry.task ?? '']?.worktree;
  if (entry.commit !== undefined) {
    if (own === undefined) return null;
    const held = await git(own, ['merge-base', '--is-ancestor', entry.commit, 'HEAD'], {
      allowExitCodes: [1, 128],
    }).catch(() => null);
    return held?.exitCode === 0 ? entry.task! : null;
  }
  const runs = Object.values(state.tasks).sort(
    (a, b) => Number(b.task_id === entry.task) - Number(a.task_id === entry.task),
  );
  for (const run of runs) {
    const path = join(run.worktree, entry.uncommitted ?? '');
    // A symbolic link's ledger content is its target (ledger_link).
    const text = await readlink(path).catch(() => readFile(path, 'utf8').catch(() => null));
    if (text === entry.content) return run.task_id;
  }
  return null;
}

export interface Cause {
  /** The violation as the invariant report words it. */
  item: string;
  cause: string;
  /** A lost commit or file that a worktree the tool kept still holds (in no ref). */
  inKeptWorktree?: boolean;
  /** …and that worktree is a failed or cancelled task's, kept as the agent left it. */
  inFailedWorktree?: boolean;
}

/** Behaviours that say most about a loss, most telling first (a nested repository: by path). */
const TELLING: readonly BehaviourName[] = [
  'gcPrune',
  'writeOtherTask',
  'rewriteBranch',
  'sideRefs',
  'rebaseLeft',
  'halfMerge',
  'detach',
  'newBranch',
  'resetBelowStart',
  'commitAll',
  'exitNonZero',
  'failFirstAttempt',
  'daemon',
];

/**
 * What each violation goes with: work of an attempt that was run again (the ledger line's pid is
 * not the task's last attempt), or the behaviour that most likely put it out of reach.
 */
async function causesOf(input: {
  repoRoot: string;
  scenario: Scenario;
  state: ExecutionState;
  ledger: LedgerEntry[];
  ledgerDir: string;
  report: InvariantReport;
}): Promise<Cause[]> {
  const { scenario, state, report } = input;
  const causes: Cause[] = [];
  for (const lost of await lostEntries(input.repoRoot, state, input.ledger, report)) {
    const { entry, item, kind } = lost;
    const task = scenario.tasks.find((t) => t.id === entry.task);
    if (task === undefined) {
      causes.push({ item, cause: 'unknown task' });
      continue;
    }
    const attempts = (
      await readFile(join(input.ledgerDir, `${taskSlug(task.id)}.attempts`), 'utf8').catch(() => '')
    )
      .split('\n')
      .filter(Boolean);
    let cause: string;
    if (entry.pid !== undefined && attempts.length > 1 && String(entry.pid) !== attempts.at(-1)) {
      // A tool-side failure (a refused collection) is retried too, so this is all one can say.
      const how = scenario.kill === null ? 'after a failure' : 'after a failure or on resume';
      cause = `${kind} of an earlier attempt, run again ${how}`;
    } else {
      cause = `${kind}: ${lastAttemptCause(entry, task, state)}`;
    }
    const holder = await keptWorktreeOf(state, lost);
    const kept = holder !== null;
    const status = holder === null ? undefined : state.tasks[holder]?.status;
    const failed = status === 'failed' || status === 'cancelled';
    causes.push({ item, cause, inKeptWorktree: kept, inFailedWorktree: kept && failed });
  }
  for (const item of report.lostCommits.filter((lost) => lost.startsWith('user: '))) {
    causes.push({ item, cause: "a commit of the user's (a branch, tag or stash entry) in no ref" });
  }
  for (const item of report.falseMerges) causes.push({ item, cause: 'false merge' });
  for (const item of report.unreportedCheckoutChanges) {
    const cause = item.startsWith('refs/heads/')
      ? 'checkout: a branch an agent created, unreported'
      : item.startsWith('checkout file changed')
        ? 'checkout: a file an agent wrote there, unreported'
        : `checkout: ${item.split(':')[0]}`;
    causes.push({ item, cause });
  }
  return causes;
}

function lastAttemptCause(entry: LedgerEntry, task: TaskSpec, state: ExecutionState): string {
  const run = state.tasks[task.id];
  const status = run === undefined || run.status === 'completed' ? '' : ` (task ${run.status})`;
  if (entry.uncommitted?.startsWith('sub/')) return `in a nested repository${status}`;
  if (entry.uncommitted === CONFLICT_FILE) {
    const what = task.behaviours.includes('rebaseLeft') ? 'a rebase' : 'a merge';
    return `conflict markers of ${what} left stopped${status}`;
  }
  const telling = TELLING.find((b) => task.behaviours.includes(b));
  return `${telling === undefined ? 'ordinary work' : `agent ${BEHAVIOURS[telling].description}`}${status}`;
}

/** A cause with where the lost item still is, if anywhere. */
export function labelOf(cause: Omit<Cause, 'item'>): string {
  if (cause.inFailedWorktree === true)
    return `${cause.cause} [in the failed task's kept worktree: not counted]`;
  if (cause.inKeptWorktree === true)
    return `${cause.cause} [still in a worktree a clean will remove]`;
  return cause.cause;
}

function countCauses(causes: readonly Cause[]): string[] {
  const counts = new Map<string, number>();
  for (const { cause, inKeptWorktree, inFailedWorktree } of causes) {
    const key = labelOf({ cause, inKeptWorktree, inFailedWorktree });
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([cause, n]) => `cause: ${n} × ${cause}`);
}

/** One line per figure list, for a failure message or the bench. */
export function summarize(result: ScenarioResult): string {
  const { report } = result;
  const parts = [
    report.lostCommits.length > 0 ? `lost commits [${report.lostCommits.join(', ')}]` : '',
    report.lostUncommitted.length > 0
      ? `lost uncommitted [${report.lostUncommitted.join(', ')}]`
      : '',
    report.falseMerges.length > 0 ? `false merges [${report.falseMerges.join(', ')}]` : '',
    report.unreportedCheckoutChanges.length > 0
      ? `unreported checkout changes [${report.unreportedCheckoutChanges.join(', ')}]`
      : '',
    result.inFailedWorktrees.length > 0
      ? `not counted, only in a failed task's kept worktree [${result.inFailedWorktrees.join(', ')}]`
      : '',
    ...countCauses(result.causes),
    ...result.notes.map((note) => `note: ${note}`),
    `outcome: ${result.outcome}`,
  ].filter(Boolean);
  return `${result.description}\n  ${parts.join('\n  ') || 'ok'}`;
}
