/**
 * The work-safety invariant, checked from the outside with plain git (never with the engine's own
 * helpers, so a bug there cannot hide itself):
 * - every commit an agent made is reachable from the integration branch, a task branch, or a ref
 *   under `refs/parallel-executor/<execution>/`;
 * - every change an agent left uncommitted is in a commit reachable from one of those refs;
 * - a task reported merged has its branch tip (and recorded head) in the integration branch;
 * - the user's checkout, branches, tags, stash and git config are as they were, or the run named
 *   every difference (`checkout_changes` in the state).
 *
 * Agents in tests write a ledger: one JSON line per fact, in `<ledgerDir>/<anything>.jsonl`:
 * `{"commit":"<sha>","task":"1.1"}` after each commit, `{"uncommitted":"<path>","content":"…","task":"1.1"}`
 * for a file left uncommitted (path relative to the worktree root).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../../src/engine/workspace/git-exec.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';

export interface LedgerEntry {
  task?: string;
  commit?: string;
  uncommitted?: string;
  content?: string;
  /** The file's mode as git stores it (`100755`), when the agent changed it (chmod +x). */
  mode?: string;
}

export async function readLedger(ledgerDir: string): Promise<LedgerEntry[]> {
  const names = await readdir(ledgerDir).catch(() => [] as string[]);
  const entries: LedgerEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.jsonl')).sort()) {
    const text = await readFile(join(ledgerDir, name), 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        entries.push(JSON.parse(line) as LedgerEntry);
      } catch {
        // A line cut by kill -9 while being written: the commit it names was not yet recorded.
      }
    }
  }
  return entries;
}

/** What the user's checkout looks like, in comparable pieces. */
export interface CheckoutSnapshot {
  head: string;
  /** `refs/heads/*` and `refs/tags/*` outside the tool's own names → sha. */
  refs: Record<string, string>;
  stash: string;
  config: string;
  /** `git status --porcelain` of the main worktree, the tool's folder excluded. */
  status: string;
  /** Whether `.git/index.lock` is there: left behind, it stops the user's next commit. */
  indexLock?: boolean;
}

/** Branches the tool itself creates are not "the user's branches". */
export function isToolRef(ref: string, toolBranches: ReadonlySet<string>): boolean {
  if (ref.startsWith('refs/parallel-executor/')) return true;
  if (ref.startsWith('refs/heads/integration/')) return true;
  return toolBranches.has(ref.replace(/^refs\/heads\//, ''));
}

export async function snapshotCheckout(repoRoot: string): Promise<CheckoutSnapshot> {
  const out = async (args: string[], allow: number[] = []) =>
    (await git(repoRoot, args, { allowExitCodes: allow })).stdout;
  const head = (await out(['symbolic-ref', '-q', 'HEAD'], [1])).trim();
  const headSha = (await out(['rev-parse', 'HEAD'])).trim();
  const refLines = await out([
    'for-each-ref',
    '--format=%(refname) %(objectname)',
    'refs/heads',
    'refs/tags',
  ]);
  const refs: Record<string, string> = {};
  for (const line of refLines.split('\n').filter(Boolean)) {
    const [ref, sha] = line.split(' ');
    refs[ref!] = sha!;
  }
  const stash = await out(['stash', 'list', '--format=%H'], [1]);
  const gitDir = (await out(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
  const config = await readFile(join(gitDir, 'config'), 'utf8');
  const status = (await out(['status', '--porcelain', '--untracked-files=all']))
    .split('\n')
    .filter((line) => line !== '' && !line.slice(3).startsWith('.parallel-executor/'))
    .join('\n');
  const indexLock = await stat(join(gitDir, 'index.lock')).then(
    () => true,
    () => false,
  );
  return { head: `${head || 'detached'}@${headSha}`, refs, stash, config, status, indexLock };
}

export interface InvariantInput {
  repoRoot: string;
  state: ExecutionState;
  ledger: LedgerEntry[];
  /** The checkout before the run; omitted, the checkout is not compared. */
  before?: CheckoutSnapshot;
  /** Files the run is expected to change in the checkout (e.g. the plan, with `--write-back working-tree`). */
  expectedStatus?: RegExp;
}

export interface InvariantReport {
  lostCommits: string[];
  lostUncommitted: string[];
  falseMerges: string[];
  unreportedCheckoutChanges: string[];
  ok: boolean;
}

/** The refs the output names: integration branch, task branches, and the execution's kept refs. */
async function namedRefs(repoRoot: string, state: ExecutionState): Promise<string[]> {
  const refs = new Set<string>();
  if (state.integration !== null) refs.add(`refs/heads/${state.integration.branch}`);
  for (const run of Object.values(state.tasks)) refs.add(`refs/heads/${run.branch}`);
  const kept = await git(repoRoot, [
    'for-each-ref',
    '--format=%(refname)',
    `refs/parallel-executor/${state.execution_id}/`,
  ]);
  for (const ref of kept.stdout.split('\n').filter(Boolean)) refs.add(ref);
  const present: string[] = [];
  for (const ref of refs) {
    const ok = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      allowExitCodes: [1, 128],
    });
    if (ok.exitCode === 0) present.push(ref);
  }
  return present;
}

export async function checkInvariant(input: InvariantInput): Promise<InvariantReport> {
  const { repoRoot, state } = input;
  const refs = await namedRefs(repoRoot, state);
  const reachable = new Set(
    refs.length === 0
      ? []
      : (await git(repoRoot, ['rev-list', ...refs, '--'])).stdout.split('\n').filter(Boolean),
  );
  const lostCommits = input.ledger
    .filter((entry) => entry.commit !== undefined && !reachable.has(entry.commit))
    .map((entry) => `${entry.task ?? '?'}: ${entry.commit}`);

  const lostUncommitted: string[] = [];
  for (const entry of input.ledger) {
    if (entry.uncommitted === undefined) continue;
    if (
      !(await contentReachable(repoRoot, refs, entry.uncommitted, entry.content ?? '', entry.mode)) &&
      !(await keptInExecution(repoRoot, state, entry.uncommitted, entry.content ?? ''))
    ) {
      lostUncommitted.push(`${entry.task ?? '?'}: ${entry.uncommitted}`);
    }
  }

  const falseMerges: string[] = [];
  const integration = state.integration;
  for (const id of integration?.merged ?? []) {
    const run = state.tasks[id];
    if (run === undefined || integration === null) continue;
    const tips = [run.head_sha, await tipOf(repoRoot, `refs/heads/${run.branch}`)].filter(
      (sha): sha is string => sha !== null,
    );
    if (tips.length === 0) falseMerges.push(`${id}: no branch tip and no recorded head`);
    for (const tip of tips) {
      const contained = await git(
        repoRoot,
        ['merge-base', '--is-ancestor', tip, `refs/heads/${integration.branch}`],
        { allowExitCodes: [1, 128] },
      );
      if (contained.exitCode !== 0) falseMerges.push(`${id}: ${tip} not in ${integration.branch}`);
    }
  }

  // The user's commits: every branch or tag tip and stash entry there was before the run is still
  // held by a branch, a tag, the stash or a named ref (an agent's `git branch -D`, or `gc --prune`
  // after `reflog expire`, must not take them away unkept).
  if (input.before !== undefined) {
    const userTips = [
      ...Object.entries(input.before.refs),
      ...input.before.stash
        .split('\n')
        .filter(Boolean)
        .map((sha, i) => [`stash@{${i}}`, sha] as const),
    ];
    const holders = (
      await git(repoRoot, ['for-each-ref', '--format=%(objectname)', 'refs/heads', 'refs/tags'])
    ).stdout
      .split('\n')
      .filter(Boolean);
    const stashNow = (
      await git(repoRoot, ['stash', 'list', '--format=%H'], { allowExitCodes: [1] })
    ).stdout
      .split('\n')
      .filter(Boolean);
    const all = [...refs, ...holders, ...stashNow];
    const held = new Set(
      all.length === 0
        ? []
        : (await git(repoRoot, ['rev-list', '--ignore-missing', ...all, '--'])).stdout
            .split('\n')
            .filter(Boolean),
    );
    for (const [name, sha] of userTips) {
      const commit = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${sha}^{commit}`], {
        allowExitCodes: [1, 128],
      });
      if (commit.exitCode !== 0 || !held.has(commit.stdout.trim())) {
        lostCommits.push(`user: ${name} ${sha}`);
      }
    }
  }

  const unreportedCheckoutChanges: string[] = [];
  if (input.before !== undefined) {
    const after = await snapshotCheckout(repoRoot);
    const reported = ((state as { checkout_changes?: unknown }).checkout_changes ??
      []) as unknown[];
    const reportedText = reported.map((item) => JSON.stringify(item)).join('\n');
    const toolBranches = new Set([
      ...Object.values(state.tasks).map((run) => run.branch),
      ...(state.integration?.repairs ?? []).flatMap((repair) => [
        repair.branch,
        // Every attempt's branch (the record's `branch` is the last one's).
        ...(repair.workspaces ?? []).map((workspace) => workspace.branch),
      ]),
    ]);
    const differences = diffCheckout(input.before, after, toolBranches, input.expectedStatus);
    for (const difference of differences) {
      if (!reportedText.includes(difference.key)) unreportedCheckoutChanges.push(difference.text);
    }
  }
  return {
    lostCommits,
    lostUncommitted,
    falseMerges,
    unreportedCheckoutChanges,
    ok:
      lostCommits.length === 0 &&
      lostUncommitted.length === 0 &&
      falseMerges.length === 0 &&
      unreportedCheckoutChanges.length === 0,
  };
}

interface Difference {
  /** A word the run's report must contain for this difference to count as named. */
  key: string;
  text: string;
}

export function diffCheckout(
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  toolBranches: ReadonlySet<string>,
  expectedStatus?: RegExp,
): Difference[] {
  const differences: Difference[] = [];
  if (before.head !== after.head) {
    differences.push({ key: 'HEAD', text: `HEAD moved: ${before.head} → ${after.head}` });
  }
  const names = new Set([...Object.keys(before.refs), ...Object.keys(after.refs)]);
  for (const ref of names) {
    if (isToolRef(ref, toolBranches) && before.refs[ref] === undefined) continue;
    if (before.refs[ref] !== after.refs[ref]) {
      const short = ref.replace(/^refs\/(heads|tags)\//, '');
      differences.push({
        key: short,
        text: `${ref}: ${before.refs[ref] ?? 'absent'} → ${after.refs[ref] ?? 'absent'}`,
      });
    }
  }
  if (before.stash !== after.stash) differences.push({ key: 'stash', text: 'stash changed' });
  if (before.indexLock !== after.indexLock) {
    differences.push({ key: 'index.lock', text: 'index.lock left in the checkout' });
  }
  if (before.config !== after.config)
    differences.push({ key: 'config', text: 'git config changed' });
  const beforeLines = new Set(before.status.split('\n').filter(Boolean));
  for (const line of after.status.split('\n').filter(Boolean)) {
    if (beforeLines.has(line)) continue;
    const path = line.slice(3);
    if (expectedStatus?.test(path)) continue;
    differences.push({ key: path, text: `checkout file changed: ${line}` });
  }
  return differences;
}

async function tipOf(repoRoot: string, ref: string): Promise<string | null> {
  const result = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

async function contentReachable(
  repoRoot: string,
  refs: string[],
  path: string,
  content: string,
  mode?: string,
): Promise<boolean> {
  if (refs.length === 0) return false;
  const commits = (await git(repoRoot, ['rev-list', ...refs, '--', path])).stdout
    .split('\n')
    .filter(Boolean);
  for (const commit of commits) {
    const shown = await git(repoRoot, ['show', `${commit}:${path}`], { allowExitCodes: [128] });
    if (shown.exitCode !== 0 || shown.stdout !== content) continue;
    if (mode === undefined) return true;
    const listed = await git(repoRoot, ['ls-tree', '-z', commit, '--', path]);
    if (listed.stdout.startsWith(`${mode} `)) return true;
  }
  return false;
}

/**
 * The file with that content among what the execution moved out of a worktree before a retry
 * (`<execution>/kept/<task>/attempt-<n>/<path>`: a nested repository, which no ref can hold); the
 * run's output names the place.
 */
async function keptInExecution(
  repoRoot: string,
  state: ExecutionState,
  path: string,
  content: string,
): Promise<boolean> {
  const kept = join(repoRoot, '.parallel-executor', 'executions', state.execution_id, 'kept');
  for (const task of await readdir(kept).catch(() => [] as string[])) {
    for (const attempt of await readdir(join(kept, task)).catch(() => [] as string[])) {
      const text = await readFile(join(kept, task, attempt, path), 'utf8').catch(() => null);
      if (text === content) return true;
    }
  }
  return false;
}

/** For test failure messages. */
export function describe(report: InvariantReport): string {
  return JSON.stringify(
    {
      lostCommits: report.lostCommits,
      lostUncommitted: report.lostUncommitted,
      falseMerges: report.falseMerges,
      unreportedCheckoutChanges: report.unreportedCheckoutChanges,
    },
    null,
    2,
  );
}
