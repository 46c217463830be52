/**
 * Build the instance folders that bench/interaction-risk.ts reads, from a checkout (or bare git
 * directory) of AgentConflictBench and git mirrors of the upstream projects. Nothing of theirs is
 * committed here: run it on copies kept outside the repository.
 *
 *   npx tsx bench/interaction-risk-prepare.ts <agentconflictbench git dir> <mirrors dir> <out dir> [--skip PREFIX]…
 *
 * `<mirrors dir>/<owner>+<name>/repo` is the upstream git directory for github.com/<owner>/<name>.
 * Each instance folder gets `files/` (the upstream tree at the instance's base commit),
 * `patch_a.patch`, `patch_b.patch` and `metadata.json`. When the base commit is missing from the
 * mirror, the tree of the mirror's HEAD is used, after checking with `git hash-object` that each
 * file the patches touch is the blob the patch starts from (`index <from>..<to>`); a file that is
 * not is replaced by that blob when the mirror has it, and is listed when it has not (the bench
 * then tells whether the patches still apply).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [benchGit, mirrors, out, ...rest] = process.argv.slice(2);
if (benchGit === undefined || mirrors === undefined || out === undefined) {
  console.error(
    'usage: interaction-risk-prepare.ts <bench git dir> <mirrors dir> <out dir> [--skip PREFIX]…',
  );
  process.exit(2);
}
const skip = rest.filter((_, index) => rest[index - 1] === '--skip');

const git = (dir: string, args: string[]) =>
  execFileSync('git', ['--git-dir', dir, ...args], {
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
const text = (dir: string, args: string[]) => git(dir, args).toString('utf8');

interface Metadata {
  id: string;
  repo: string;
  base_commit: string;
}

const instances = text(benchGit, ['ls-tree', '--name-only', 'HEAD', 'instances/'])
  .split('\n')
  .filter((path) => path !== '' && !path.includes('.'))
  .filter((path) => !skip.some((prefix) => path.slice('instances/'.length).startsWith(prefix)));

mkdirSync(out, { recursive: true });
for (const instance of instances) {
  const metadataText = text(benchGit, ['show', `HEAD:${instance}/metadata.json`]);
  const metadata = JSON.parse(metadataText) as Metadata;
  const [owner, name] = new URL(metadata.repo).pathname.slice(1).split('/') as [string, string];
  const upstream = join(mirrors, `${owner}+${name}`, 'repo');
  const patches = ['patch_a.patch', 'patch_b.patch'].map((file) =>
    text(benchGit, ['show', `HEAD:${instance}/${file}`]),
  );
  const folder = join(out, metadata.id);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, 'files'), { recursive: true });
  const hasBase = commitExists(upstream, metadata.base_commit);
  const treeish = hasBase ? metadata.base_commit : 'HEAD';
  // git archive | tar: the tree as files, without a work tree of the mirror.
  const archive = git(upstream, ['archive', '--format=tar', treeish]);
  execFileSync('tar', ['-x', '-C', join(folder, 'files')], { input: archive, maxBuffer: 1 << 30 });
  const replaced: string[] = [];
  const differs: string[] = [];
  if (!hasBase) {
    for (const { path, from } of startingBlobs(patches)) {
      if (/^0+$/.test(from)) continue;
      const written = join(folder, 'files', path);
      if (hashOf(written)?.startsWith(from)) continue;
      if (blobExists(upstream, from)) {
        // Not the same at HEAD: take the blob itself.
        mkdirSync(join(written, '..'), { recursive: true });
        writeFileSync(written, git(upstream, ['cat-file', 'blob', from]));
        replaced.push(path);
      } else {
        // The mirror never held it; bench/interaction-risk.ts says so if the patch does not apply.
        differs.push(`${path} (${hashOf(written)?.slice(0, 7)}, patch starts from ${from})`);
      }
    }
  }
  writeFileSync(join(folder, 'patch_a.patch'), patches[0]!);
  writeFileSync(join(folder, 'patch_b.patch'), patches[1]!);
  writeFileSync(join(folder, 'metadata.json'), metadataText);
  console.log(
    `${metadata.id}: ${
      hasBase
        ? `base ${metadata.base_commit.slice(0, 10)}`
        : `base missing, HEAD of ${owner}/${name}; ` +
          (differs.length === 0
            ? `touched files are the patches' starting blobs (${replaced.length} taken from older blobs)`
            : `differ from the patches' starting blobs, which the mirror lacks: ${differs.join(', ')}`)
    }`,
  );
}

function hashOf(path: string): string | null {
  try {
    return execFileSync('git', ['hash-object', path], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function blobExists(dir: string, sha: string): boolean {
  try {
    git(dir, ['cat-file', '-e', `${sha}^{blob}`]);
    return true;
  } catch {
    return false;
  }
}

function commitExists(dir: string, sha: string): boolean {
  try {
    git(dir, ['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** `diff --git a/x b/x` … `index abc..def`: the file and the blob the patch starts from. */
function startingBlobs(patches: readonly string[]): { path: string; from: string }[] {
  const found = new Map<string, string>();
  for (const patch of patches) {
    let path: string | null = null;
    for (const line of patch.split('\n')) {
      const header = /^diff --git a\/(\S+) b\//.exec(line);
      if (header !== null) path = header[1]!;
      const index = /^index ([0-9a-f]+)\.\./.exec(line);
      if (index !== null && path !== null) found.set(path, index[1]!);
    }
  }
  return [...found].map(([path, from]) => ({ path, from }));
}
