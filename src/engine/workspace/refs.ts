import { git } from './git-exec.js';

/**
 * Branch names come from plan text (titles, agent names, a `Branch` column), so they are rebuilt
 * from a safe alphabet rather than trusted: whatever the plan says, the ref is valid and inert.
 */

const MAX_SLUG = 48;
const MAX_BRANCH = 120;

/** Lower-case ASCII words joined by `-`; accents folded, everything else dropped. */
export function slugify(text: string, max = MAX_SLUG): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  const slug = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return trimSlug(slug, max);
}

/** The task's part of its branch: id and title, so branches stay readable and distinct. */
export function taskSlug(id: string, title: string): string {
  const idPart = slugify(id, 16);
  const titlePart = slugify(title, MAX_SLUG - idPart.length - 1);
  const joined = [idPart, titlePart].filter((part) => part.length > 0).join('-');
  return joined.length > 0 ? joined : 'task';
}

/** `agent/<agent>/<task-slug>`, the seed's naming. */
export function defaultBranchName(agent: string, id: string, title: string): string {
  return `agent/${slugify(agent, 32) || 'agent'}/${taskSlug(id, title)}`;
}

/**
 * A branch the plan names, kept as close to what it says as is safe: components rebuilt from
 * `[A-Za-z0-9._-]`, no `..`, no leading `-` or `.`, no `.lock` ending, no `refs/` (or `refs/heads/`)
 * prefix. Null when nothing is left.
 */
export function sanitizeBranchName(text: string): string | null {
  const components = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split('/')
    .map((part) =>
      part
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/-{2,}/g, '-')
        .replace(/\.{2,}/g, '.')
        .replace(/^[.-]+/, '')
        .replace(/(\.lock)+$/i, '')
        .replace(/[.-]+$/, ''),
    )
    .filter((part) => part.length > 0);
  // `refs/heads/x` means the branch x; a branch called `refs/...` would read as another ref.
  if (components[0] === 'refs') components.splice(0, components[1] === 'heads' ? 2 : 1);
  if (components.length === 0) return null;
  const name = components.join('/');
  if (name === 'HEAD' || name === '@') return null;
  return trimSlug(name, MAX_BRANCH).replace(/[/.]+$/, '') || null;
}

function trimSlug(slug: string, max: number): string {
  if (slug.length <= max) return slug;
  return slug.slice(0, max).replace(/[-.]+$/, '');
}

/** Ask git itself: the last word on whether a name is a valid branch. */
export async function isValidBranchName(cwd: string, name: string): Promise<boolean> {
  if (name.startsWith('-')) return false;
  const result = await git(cwd, ['check-ref-format', '--branch', name], {
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0;
}

/**
 * Whether git already reads `name` as something: a branch, a tag (`v2`), a remote branch
 * (`origin/x`), `HEAD`-like names, an abbreviated commit id. A branch of that name would be
 * ambiguous: `git merge v2` takes the tag, not the branch.
 */
export async function nameInUse(cwd: string, name: string): Promise<boolean> {
  const result = await git(cwd, ['rev-parse', '--verify', '--quiet', name], {
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0;
}

/**
 * `nameInUse` for many names in one git process: `cat-file --batch-check` resolves each name the
 * way `rev-parse --verify` does. An ambiguous name counts as in use. Names with whitespace (never
 * a valid branch) are left to `nameInUse`.
 */
export async function namesInUse(
  cwd: string,
  names: Iterable<string>,
): Promise<Map<string, boolean>> {
  const asked = [...new Set(names)].filter((name) => name !== '' && !/\s/.test(name));
  const answers = new Map<string, boolean>();
  if (asked.length === 0) return answers;
  const { stdout } = await git(cwd, ['cat-file', '--batch-check=%(objectname)'], {
    input: `${asked.join('\n')}\n`,
  });
  const lines = stdout.split('\n');
  asked.forEach((name, i) => answers.set(name, lines[i] !== `${name} missing`));
  return answers;
}

/**
 * `uniqueName`, and also a name git does not already read as something else (see `nameInUse`), so
 * that a task branch can never be mistaken for a tag or another branch. Adds the pick to `taken`.
 * `known`: answers already had from `namesInUse`.
 */
export async function freeBranchName(
  cwd: string,
  wanted: string,
  taken: Set<string>,
  known: ReadonlyMap<string, boolean> = new Map(),
): Promise<string> {
  const tried = new Set(taken);
  for (;;) {
    const candidate = uniqueName(wanted, tried);
    if (!(known.get(candidate) ?? (await nameInUse(cwd, candidate)))) {
      taken.add(candidate);
      return candidate;
    }
  }
}

/** Every local branch name, to avoid reusing one a previous execution left behind. */
export async function localBranches(cwd: string): Promise<Set<string>> {
  const { stdout } = await git(cwd, ['for-each-ref', '--format=%(refname:strip=2)', 'refs/heads']);
  return new Set(stdout.split('\n').filter((line) => line.length > 0));
}

/**
 * Pick a name no existing branch and no earlier pick uses, adding `-2`, `-3`… Also avoids
 * directory/file clashes (`a/b` exists, so `a` cannot be a branch, and vice versa). Names are
 * compared without case: on macOS and Windows a loose ref is a file, so `Feat` and `feat` are one
 * ref there (two tasks' branches `Feat` and `feat` were one branch, worked on by both agents, and
 * a task's `feat` written beside the user's packed `Feat` read as the user's branch moved).
 */
export function uniqueName(wanted: string, taken: Set<string>): string {
  const lower = [...taken].map((other) => other.toLowerCase());
  // Under an existing branch `feat`, no `feat/...` can exist whatever the suffix: flatten it.
  const underBranch = lower.some((other) => wanted.toLowerCase().startsWith(`${other}/`));
  const stem = underBranch ? wanted.replaceAll('/', '-') : wanted;
  let candidate = stem;
  for (let n = 2; clashes(candidate, lower); n += 1) candidate = `${stem}-${n}`;
  taken.add(candidate);
  return candidate;
}

function clashes(name: string, taken: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return taken.some(
    (other) => other === lower || other.startsWith(`${lower}/`) || lower.startsWith(`${other}/`),
  );
}
