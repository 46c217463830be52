/**
 * Moving the nested repositories out of a worktree with a large ignored tree (a node_modules of
 * 2,500 packages × 20 folders, 500 of the packages with a `.git`), against one walk of the same
 * tree with none in it, measured in the same run. The move should cost a few walks, not one walk
 * per handful of repositories. Run: npx tsx bench/nested-repos.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  moveNestedRepositories,
  nestedRepositories,
} from '../src/engine/workspace/nested-repos.js';

const PACKAGES = 2500;
const FOLDERS = 20;
const EVERY = 5;

function tree(dir: string, withRepos: boolean): void {
  for (let p = 0; p < PACKAGES; p += 1) {
    for (let f = 0; f < FOLDERS; f += 1)
      mkdirSync(join(dir, 'node_modules', `p${p}`, `d${f}`), { recursive: true });
    if (withRepos && p % EVERY === 0) mkdirSync(join(dir, 'node_modules', `p${p}`, '.git'));
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'pe-bench-nested-'));
try {
  const plain = join(scratch, 'plain');
  const nested = join(scratch, 'nested');
  tree(plain, false);
  tree(nested, true);
  nestedRepositories(plain, 1); // warm the cache
  const walkStart = performance.now();
  if (nestedRepositories(plain, 1).length !== 0) throw new Error('the plain tree has a repository');
  const walk = performance.now() - walkStart;
  const moveStart = performance.now();
  const moved = await moveNestedRepositories(nested, join(scratch, 'kept'));
  const move = performance.now() - moveStart;
  if (moved.length !== PACKAGES / EVERY)
    throw new Error(`moved ${moved.length}, expected ${PACKAGES / EVERY}`);
  console.log(
    `${PACKAGES * (FOLDERS + 1)} folders, ${moved.length} nested repositories\n` +
      `one walk ${walk.toFixed(0).padStart(6)} ms   move all ${move.toFixed(0).padStart(6)} ms   ratio ${(move / walk).toFixed(1)}x`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
