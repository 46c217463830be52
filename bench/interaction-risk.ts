/**
 * Interaction-risk detection measured on a folder of instances: pairs of patches that apply
 * cleanly to one base and each pass alone, labelled by whether their combination breaks
 * (AgentConflictBench's composition oracle). Build the folder with bench/interaction-risk-prepare.ts.
 *
 *   npx tsx bench/interaction-risk.ts <folder>
 *
 * Each `<folder>/<instance>/` holds `files/` (the upstream files at the base), `patch_a.patch`,
 * `patch_b.patch` and `metadata.json` (`repo`, `composition_expected`: "fail" for an interaction,
 * "pass" for a clean control). Prints recall on the interactions, false alarms on the controls,
 * and false alarms on constructed pairs of unrelated changes: a patch of one instance with a patch
 * of another instance of the same repository (same base), when both apply, merge cleanly and
 * touch no common file. Alarms on every such cross-instance pair (common files allowed) are
 * printed too, for scale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { detectRisks, type InteractionRisk } from '../src/engine/integrate/risk/detect.js';
import { mergeTreeConflicts } from '../src/engine/integrate/conflicts.js';
import { repoGit } from '../src/engine/integrate/repo.js';

const folder = process.argv[2];
if (folder === undefined) {
  console.error('usage: npx tsx bench/interaction-risk.ts <folder of instances>');
  process.exit(2);
}

const ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@localhost',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@localhost',
};

interface Instance {
  id: string;
  dir: string;
  repo: string;
  interaction: boolean;
  patches: { a: string; b: string };
}

function readInstances(root: string): Instance[] {
  // statSync follows links: a folder of links to chosen instances works too.
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .map((name) => {
      const dir = join(root, name);
      const metadata = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as {
        repo: string;
        composition_expected: string;
      };
      return {
        id: name,
        dir,
        repo: metadata.repo,
        interaction: metadata.composition_expected !== 'pass',
        patches: { a: join(dir, 'patch_a.patch'), b: join(dir, 'patch_b.patch') },
      };
    })
    .sort((x, y) => x.id.localeCompare(y.id));
}

const sh = (cwd: string, args: string[]) =>
  execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', ...args], {
    cwd,
    env: ENV,
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();

/** A throwaway repository holding the instance's base files as one commit. */
function baseRepo(instance: Instance): { dir: string; base: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pe-risk-bench-'));
  sh(dir, ['init', '-q', '-b', 'base']);
  execFileSync('cp', ['-a', `${join(instance.dir, 'files')}/.`, dir]);
  sh(dir, ['add', '-A', '-f']);
  sh(dir, ['commit', '-q', '-m', 'base', '--no-verify']);
  return { dir, base: sh(dir, ['rev-parse', 'HEAD']) };
}

/** The patch as a commit on its own branch from the base; null when it does not apply. */
function branchWith(dir: string, base: string, name: string, patch: string): string | null {
  sh(dir, ['checkout', '-q', '-f', '-B', name, base]);
  try {
    sh(dir, ['apply', '--index', resolve(patch)]);
  } catch {
    return null;
  }
  sh(dir, ['commit', '-q', '-m', name, '--no-verify', '--allow-empty']);
  return sh(dir, ['rev-parse', 'HEAD']);
}

function touched(patch: string): Set<string> {
  const files = new Set<string>();
  for (const line of readFileSync(patch, 'utf8').split('\n')) {
    const header = /^diff --git a\/(\S+) b\/(\S+)/.exec(line);
    if (header !== null) files.add(header[1]!).add(header[2]!);
  }
  return files;
}

async function risksOf(dir: string, base: string, a: string, b: string) {
  const repo = repoGit(dir, ENV);
  return detectRisks(repo, base, [
    { taskId: 'a', sha: a },
    { taskId: 'b', sha: b },
  ]);
}

const percent = (part: number, whole: number) =>
  whole === 0 ? 'n/a' : `${part}/${whole} (${Math.round((100 * part) / whole)}%)`;

const instances = readInstances(folder);
const rows: { instance: Instance; risks: InteractionRisk[] | null; conflict: boolean }[] = [];
const unrelated = { pairs: 0, alarms: 0 };
const crossAll = { pairs: 0, alarms: 0 };
const startedAt = performance.now();
for (const instance of instances) {
  const { dir, base } = baseRepo(instance);
  try {
    const a = branchWith(dir, base, 'a', instance.patches.a);
    const b = branchWith(dir, base, 'b', instance.patches.b);
    const conflicts =
      a === null || b === null ? null : await mergeTreeConflicts(repoGit(dir, ENV), a, b);
    const conflict = conflicts !== null && conflicts.length > 0;
    const risks = a === null || b === null || conflict ? null : await risksOf(dir, base, a, b);
    rows.push({ instance, risks, conflict });
    const label = instance.interaction ? 'interaction' : 'control';
    const verdict =
      a === null || b === null
        ? 'patch does not apply'
        : conflict
          ? `textual conflict under git merge (${conflicts.join(', ')}): reported as a conflict`
          : risks!.length > 0
            ? 'RISK'
            : 'no risk';
    console.log(`${instance.id.padEnd(20)} ${label.padEnd(12)} ${verdict}`);
    for (const risk of risks ?? []) console.log(`    ${risk.reason}`);
    // Unrelated pairs: this instance's patches with later instances' patches of the same repository.
    for (const other of instances) {
      if (other.repo !== instance.repo || other.id <= instance.id) continue;
      for (const mine of [instance.patches.a, instance.patches.b]) {
        for (const theirs of [other.patches.a, other.patches.b]) {
          const x = branchWith(dir, base, 'x', mine);
          const y = branchWith(dir, base, 'y', theirs);
          if (x === null || y === null) continue;
          const pairRisks = await risksOf(dir, base, x, y);
          // detectRisks skips pairs that conflict; count only pairs that merge cleanly.
          const conflicts = await mergeTreeConflicts(repoGit(dir, ENV), x, y);
          if (conflicts === null || conflicts.length > 0) continue;
          crossAll.pairs += 1;
          if (pairRisks.length > 0) crossAll.alarms += 1;
          const common = [...touched(mine)].some((file) => touched(theirs).has(file));
          if (common) continue;
          unrelated.pairs += 1;
          if (pairRisks.length > 0) {
            unrelated.alarms += 1;
            console.log(`    unrelated pair with ${other.id} flagged: ${pairRisks[0]!.reason}`);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const applied = rows.filter((row) => row.risks !== null || row.conflict);
const interactions = applied.filter((row) => row.instance.interaction);
const controls = applied.filter((row) => !row.instance.interaction);
const mergeClean = (list: typeof rows) => list.filter((row) => !row.conflict);
const flagged = (list: typeof rows) =>
  list.filter((row) => row.conflict || row.risks!.length > 0).length;
const line = (label: string, value: string) => console.log(`${label.padEnd(36)} ${value}`);
console.log('');
line('instances:', `${rows.length} (${rows.length - applied.length} where a patch does not apply)`);
line(
  'recall on interactions:',
  `${percent(flagged(interactions), interactions.length)}; a textual conflict under git merge counts as caught`,
);
line(
  '  of those that merge cleanly:',
  percent(flagged(mergeClean(interactions)), mergeClean(interactions).length),
);
line('false alarms on controls:', percent(flagged(controls), controls.length));
line(
  'false alarms on unrelated pairs:',
  `${percent(unrelated.alarms, unrelated.pairs)}; patches of different instances, no common file`,
);
line(
  'alarms on all cross-instance pairs:',
  `${percent(crossAll.alarms, crossAll.pairs)}; common files allowed, some may interact`,
);
line('time:', `${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
