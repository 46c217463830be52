/**
 * Every worktree of a run shares the repository's config (`.git/config`), so an agent can name
 * commands there that the tool's own git would then run, and that change what it commits and
 * merges: a clean filter (`filter.<name>.clean`, with `* filter=<name>` in `.git/info/attributes`
 * or a `.gitattributes`) rewrites every other task's files as the tool commits them, a merge
 * driver that exits 0 (`merge.<name>.driver`, or `merge.default`) makes a conflict between two
 * tasks a clean merge, with one side's work gone, and `core.autocrlf` changes the line ends of
 * every other task's files as the tool commits them. The guard holds the config's settings as they
 * were when the execution started; while it is on, each git call of the tool's under the
 * repository or its worktree folder gets, for each such setting added or changed since, the
 * start's value back or a harmless one (command-line settings, which git reads last). The config file is read on
 * each call (a small file); git is asked to parse it only when its text changed.
 *
 * Attributes need no config for git's built-in `union` merge, which never reports a conflict:
 * unless the repository used it at the start, `merge.union.driver` makes it a plain three-way
 * merge for the tool. And the guard knows `.git/info/exclude` as it was, so that files a pattern
 * added since hides in a task's worktree are kept (own-ignores.ts).
 *
 * `core.worktree` set since the start is not let move the top's work tree elsewhere for the
 * tool's git (workTree: GIT_WORK_TREE, which git reads before the config).
 *
 * With `extensions.worktreeConfig` on, each worktree's `config.worktree` is read too, as part
 * of the config, and so are the files its includes name: one edited while `.git/config` stays
 * the same counts as a change (their texts at the start are read when the guard is made, before
 * any agent runs). What it does not cover: your global config.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { readSmallFile } from '../small-file.js';
import { configGuardFor, git } from './git-exec.js';
import { toolExcludeLines } from './repo.js';

/** A setting the guard puts back: the start's last value, or this one when it had none. */
interface Guarded {
  pattern: RegExp;
  /** What a setting of this key with no value at the start is set to for the tool's git. */
  neutral: string;
}

const MERGE_FILE = 'git merge-file --marker-size=%L %A %O %B';

/**
 * Settings whose value is a command the tool's git would run, or that choose what a merge or a
 * commit holds. Keys as `git config --list` writes them (section and key lower case).
 */
const GUARDED: readonly Guarded[] = [
  // An empty command is no filter at all (git skips it), and a filter not required may be skipped.
  { pattern: /^filter\..+\.(clean|smudge|process)$/, neutral: '' },
  { pattern: /^filter\..+\.required$/, neutral: 'false' },
  // git's own three-way merge, with conflict markers and the conflict reported (exit 1).
  { pattern: /^merge\..+\.driver$/, neutral: MERGE_FILE },
  { pattern: /^merge\.default$/, neutral: 'text' },
  { pattern: /^merge\..+\.recursive$/, neutral: 'text' },
  { pattern: /^gpg\.(.+\.)?program$/, neutral: 'gpg' },
  { pattern: /^commit\.gpgsign$/, neutral: 'false' },
  { pattern: /^tag\.gpgsign$/, neutral: 'false' },
  { pattern: /^core\.sshcommand$/, neutral: 'ssh' },
  { pattern: /^core\.askpass$/, neutral: '' },
  { pattern: /^core\.bare$/, neutral: 'false' },
  { pattern: /^core\.attributesfile$/, neutral: '' },
  // Line ends: another task's CRLF file is committed as it is, not as an agent's core.autocrlf
  // would convert it (nor refused by a core.safecrlf).
  { pattern: /^core\.autocrlf$/, neutral: 'false' },
  { pattern: /^core\.eol$/, neutral: 'native' },
  { pattern: /^core\.safecrlf$/, neutral: 'warn' },
];

export interface ConfigGuardOptions {
  /** The repository's common git folder (its `config` is the one guarded). */
  commonDir: string;
  /** The config file's text when the execution started (the checkout watch's snapshot). */
  startText: string;
  /** The text of `.git/info/exclude` when the execution started (undefined: not known). */
  startExclude?: string | undefined;
  /**
   * Folders whose git calls are guarded: the repository's top (first) and the worktrees' folder.
   */
  roots: readonly string[];
  /**
   * Whether the repository uses git's `union` merge (an attribute at the start says so): when not,
   * `merge=union` can only be an agent's (a `.gitattributes` it committed, a line in
   * `.git/info/attributes`), and the tool's merges take it as a plain three-way merge.
   */
  unionInUse: boolean;
  /**
   * Settings in `startText` not trusted all the same (`key\nvalue`): those added while the
   * repository's previous execution ran, still there (carriedOver).
   */
  carried?: ReadonlySet<string>;
  /** Parses a config text into `[key, value]` entries (git config --list -z), in file order. */
  parse: (text: string) => Promise<Array<[string, string]>>;
  /**
   * Parses the config file itself, its includes followed as git follows them (a relative one
   * from the including file's folder, which a text on stdin cannot give), with the files they
   * name (configFileEntries).
   */
  parseFile: (file: string) => Promise<ParsedConfig>;
  /** For an include named `~/…` in a text read from stdin. */
  home?: string | undefined;
}

export interface ParsedConfig {
  entries: Array<[string, string]>;
  /** The files its includes name (absolute), read or not. */
  includes: string[];
}

export interface ConfigGuard {
  /** Whether a git call in `cwd` is the guard's to harden. */
  covers(cwd: string): boolean;
  /**
   * The patterns of `.git/info/exclude` at the start when the file now has others (an agent's
   * lines hide files from every worktree's `git add`), else null. The tool's own lines are not
   * counted as others, and are among the patterns returned.
   */
  startExcludes(): { file: string; patterns: ReadonlySet<string> } | null;
  /**
   * The settings to give git now, as `[key, value]` (none while the config is as it was at the
   * start). Passed through GIT_CONFIG_COUNT rather than `-c`: a subsection may hold a `=`.
   */
  overrides(): Promise<ReadonlyArray<readonly [string, string]>>;
  /**
   * The work tree to name for a git call in `cwd` (GIT_WORK_TREE), or null. `core.worktree` in
   * the shared config moves the work tree of the repository's top (linked worktrees ignore it)
   * to the folder it names, and git reads it from the config file only: `-c` does not override
   * it. So unless the config had it at the start, a call at the top names the top itself.
   */
  workTree(cwd: string): Promise<string | null>;
}

export function configGuard(options: ConfigGuardOptions): ConfigGuard {
  const file = join(options.commonDir, 'config');
  let looking: Promise<ReadonlyArray<readonly [string, string]>> | null = null;
  let last: {
    key: string;
    includes: string[];
    pairs: Promise<Array<[string, string]>>;
  } | null = null;
  // A driver of the config's own is found before git's built-in one of the same name.
  const always: Array<[string, string]> = options.unionInUse
    ? []
    : [['merge.union.driver', MERGE_FILE]];

  const byKey = (entries: Array<[string, string]>, trustedOnly = false) => {
    const map = new Map<string, string[]>();
    for (const [key, value] of entries) {
      if (trustedOnly && options.carried?.has(`${key}\n${value}`) === true) continue;
      map.set(key, [...(map.get(key) ?? []), value]);
    }
    return map;
  };

  // The start as git read it, and the files its includes name as they were: read now, before
  // any agent starts (the file itself when it still holds the start's text, so that relative
  // includes are followed; else the text, as on a resume).
  const start = (async () => {
    const current = await readFile(file, 'utf8').catch(() => null);
    const parsed =
      current === options.startText
        ? await options.parseFile(file)
        : textIncludes(await options.parse(options.startText), options.commonDir, options.home);
    return {
      trusted: byKey(parsed.entries, true),
      includes: parsed.includes,
      included: includedTexts(parsed.includes),
    };
  })();

  async function compute(
    text: string,
    perWorktree: string,
    found: (includes: string[]) => void,
  ): Promise<Array<[string, string]>> {
    const [begin, parsed, worktrees] = await Promise.all([
      start,
      text === '' ? { entries: [], includes: [] } : options.parseFile(file),
      perWorktree === '' ? [] : options.parse(perWorktree),
    ]);
    found(parsed.includes);
    const now = byKey([...parsed.entries, ...worktrees]);
    const pairs: Array<[string, string]> = [];
    for (const [key, values] of now) {
      const guarded = GUARDED.find((rule) => rule.pattern.test(key));
      if (guarded === undefined) continue;
      const before = begin.trusted.get(key);
      if (before !== undefined && sameValues(before, values)) continue;
      pairs.push([key, before?.at(-1) ?? guarded.neutral]);
    }
    return pairs;
  }

  const carried = options.carried?.size ?? 0;
  // Without an include, a config as it was at the start needs no parse: the run's first git
  // calls do not wait for the start's.
  const includesNothing = !mayInclude(options.startText);
  const excludeFile = join(options.commonDir, 'info', 'exclude');
  const startPatterns =
    options.startExclude === undefined ? null : excludePatterns(options.startExclude);

  const top = options.roots[0] === undefined ? null : resolve(options.roots[0]);
  let ownWorkTree: Promise<boolean> | null = null;

  return {
    async workTree(cwd) {
      if (top === null || resolve(cwd) !== top) return null;
      ownWorkTree ??= options
        .parse(options.startText)
        .then((pairs) => pairs.some(([key]) => key === 'core.worktree'));
      return (await ownWorkTree) ? null : top;
    },
    startExcludes() {
      if (startPatterns === null) return null;
      const now = excludePatterns(readSmallFile(excludeFile, EXCLUDE_LIMIT)?.text ?? '');
      if (![...now].some((line) => !startPatterns.has(line))) return null;
      // The tool's own lines (AGENT_CONTEXT.md's) hide nothing of an agent's.
      return { file: excludeFile, patterns: new Set([...startPatterns, ...toolExcludeLines]) };
    },
    covers(cwd) {
      return options.roots.some((root) => {
        const path = relative(root, cwd);
        return path === '' || (!path.startsWith('..') && !isAbsolute(path));
      });
    },
    overrides() {
      // Calls that start together (a collection's, every task's at once) share one look: a
      // setting written while it reads is caught by the next call, as one written during a
      // call's own git is.
      looking ??= look().finally(() => {
        looking = null;
      });
      return looking;
    },
  };

  async function look(): Promise<ReadonlyArray<readonly [string, string]>> {
    const text = await readFile(file, 'utf8').catch(() => '');
    const perWorktree = await worktreeConfigs(options.commonDir, text);
    if (includesNothing && text === options.startText && perWorktree === '' && carried === 0)
      return always;
    const begin = await start;
    // A file an include names counts as the config's text: it can change while .git/config
    // stays the same.
    const includes = [...new Set([...begin.includes, ...(last?.includes ?? [])])];
    const included = includedTexts(includes);
    if (
      text === options.startText &&
      perWorktree === '' &&
      carried === 0 &&
      includes.length === begin.includes.length &&
      included === begin.included
    )
      return always;
    // What any worktree's own file sets counts as set.
    const key = `${text}\0${perWorktree}\0${included}`;
    if (last?.key !== key) {
      const entry: NonNullable<typeof last> = { key, includes, pairs: Promise.resolve([]) };
      entry.pairs = compute(text, perWorktree, (found) => {
        entry.includes = [...new Set([...includes, ...found])];
      }).then((p) => [...p, ...always]);
      last = entry;
    }
    return last.pairs;
  }
}

/**
 * The merge settings (a driver, `merge.default`) of `now` (a config text) that `previous` (the
 * text when the repository's previous execution started) did not have: set while it ran or
 * since, by one of its agents or by you. A run trusts the config as it finds it, so without this
 * a driver an agent set to hide conflicts, which that run named, would be trusted by the next
 * one. Only merge settings: not using one only reports a conflict git could have resolved, while
 * not using a filter you set up since (git-crypt's) would commit what it should have cleaned, and
 * your own git runs a filter anyway from the moment it is there.
 */
export async function carriedOver(
  previous: string,
  now: string,
  parse: (text: string) => Promise<Array<[string, string]>>,
): Promise<Array<[string, string]>> {
  if (previous === now) return [];
  const [before, after] = await Promise.all([parse(previous), parse(now)]);
  const had = new Set(before.map(([key, value]) => `${key}\n${value}`));
  return after.filter(
    ([key, value]) =>
      !had.has(`${key}\n${value}`) &&
      key.startsWith('merge.') &&
      GUARDED.some((rule) => rule.pattern.test(key)),
  );
}

/**
 * With `extensions.worktreeConfig` on, git also reads each worktree's `config.worktree` (the main
 * one's in the common folder, the others' in `worktrees/<name>/`): an agent can write any of
 * them. Their texts, one after the other ('' when the extension is off or they are empty).
 */
async function worktreeConfigs(commonDir: string, config: string): Promise<string> {
  if (!/worktreeconfig/i.test(config)) return '';
  const names = await readdir(join(commonDir, 'worktrees')).catch(() => [] as string[]);
  const files = [
    join(commonDir, 'config.worktree'),
    ...names.map((name) => join(commonDir, 'worktrees', name, 'config.worktree')),
  ];
  return files
    .map((path) => readSmallFile(path, EXCLUDE_LIMIT)?.text ?? '')
    .filter((text) => text.trim() !== '')
    .join('\n');
}

/**
 * Whether a config text may name another file (`[include]`, `[includeIf …]`): only then are its
 * settings more than its own text says. Loose on purpose: a false yes costs a parse.
 */
export function mayInclude(configText: string): boolean {
  return /include/i.test(configText);
}

/** An exclude file's patterns: comments, blank lines and the tool's own lines left out. */
export function excludePatterns(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#') && !toolExcludeLines.has(line)),
  );
}

/** info/exclude is small; a bigger one is read as empty. */
const EXCLUDE_LIMIT = 4 * 1024 * 1024;

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** The texts of the files `paths` names, as one string that changes when any of them does. */
function includedTexts(paths: readonly string[]): string {
  return paths
    .map((path) => `${path}\n${readSmallFile(path, EXCLUDE_LIMIT)?.text ?? ''}`)
    .join('\0');
}

const INCLUDE_KEY = /^(include\.path|includeif\..+\.path)$/;

/**
 * The files a config text's includes name (a text read from stdin: a relative one is taken from
 * the common folder, as for .git/config; `~/` from `home`).
 */
function textIncludes(
  entries: Array<[string, string]>,
  commonDir: string,
  home: string | undefined,
): ParsedConfig {
  const includes = entries
    .filter(([key]) => INCLUDE_KEY.test(key))
    .map(([, value]) => includedPath(value, commonDir, home))
    .filter((path): path is string => path !== null);
  return { entries, includes };
}

function includedPath(value: string, from: string, home: string | undefined): string | null {
  if (value.startsWith('~/')) return home === undefined ? null : join(home, value.slice(2));
  return isAbsolute(value) ? value : join(from, value);
}

/**
 * A config file's `[key, value]` entries as git reads it, its includes followed (relative ones
 * from the including file's folder), and the files those includes name. When git cannot follow
 * them (a cycle, a file it refuses), the file alone.
 */
export async function configFileEntries(
  cwd: string,
  file: string,
  env?: Record<string, string>,
): Promise<ParsedConfig> {
  const list = (includes: string[]) =>
    git(cwd, ['config', '--file', file, ...includes, '--show-origin', '--list', '-z'], {
      ...(env === undefined ? {} : { env }),
      unguarded: true,
      allowExitCodes: [1, 128],
    });
  let listed = await list(['--includes']);
  if (listed.exitCode !== 0) listed = await list([]);
  const fields = listed.stdout.split('\0');
  const entries: Array<[string, string]> = [];
  const includes: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const origin = fields[i]!;
    const entry = fields[i + 1]!;
    const at = entry.indexOf('\n');
    const key = at === -1 ? entry : entry.slice(0, at);
    const value = at === -1 ? '' : entry.slice(at + 1);
    entries.push([key, value]);
    if (!INCLUDE_KEY.test(key)) continue;
    const from = dirname(resolve(cwd, origin.startsWith('file:') ? origin.slice(5) : file));
    const path = includedPath(value, from, env?.['HOME']);
    if (path !== null) includes.push(path);
  }
  return { entries, includes };
}

/** A config text's `[key, value]` entries, its includes followed (what git would read). */
export async function configEntries(
  cwd: string,
  text: string,
  env?: Record<string, string>,
): Promise<Array<[string, string]>> {
  const list = (includes: string[]) =>
    git(cwd, ['config', '--file', '-', ...includes, '--list', '-z'], {
      ...(env === undefined ? {} : { env }),
      input: text,
      unguarded: true,
      allowExitCodes: [1, 128],
    });
  let listed = await list(['--includes']);
  // A relative include cannot be followed from a text on stdin: read the text alone then.
  if (listed.exitCode !== 0) listed = await list([]);
  return listed.stdout
    .split('\0')
    .filter(Boolean)
    .map((entry): [string, string] => {
      const at = entry.indexOf('\n');
      return at === -1 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    });
}

/**
 * Whether git's `union` merge is named where attributes come from at the execution's start: the
 * base commit's `.gitattributes` files, `.git/info/attributes` (its text then) or the attributes
 * file of your own config. Not proof it applies to a file; enough to leave union alone.
 */
export async function unionInUse(
  repoRoot: string,
  baseSha: string,
  infoAttributes: string | undefined,
  env: Record<string, string>,
): Promise<boolean> {
  if (infoAttributes === undefined || infoAttributes.includes('union')) return true;
  const named = await git(repoRoot, ['config', '--path', '--get', 'core.attributesFile'], {
    env,
    unguarded: true,
    allowExitCodes: [1],
  });
  const home = env['HOME'] ?? '';
  const own =
    named.stdout.trim() ||
    join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'git', 'attributes');
  if ((await readFile(own, 'utf8').catch(() => '')).includes('union')) return true;
  const found = await git(
    repoRoot,
    ['grep', '-q', '-I', '-F', '-e', 'union', baseSha, '--', ':(glob)**/.gitattributes'],
    { env, unguarded: true, allowExitCodes: [1] },
  );
  return found.exitCode === 0;
}

/**
 * For merges made outside a run's guard (the Action's integrate job, on a fresh checkout): `-c`
 * settings that make git's `union` merge a plain three-way one unless the repository uses it at
 * `baseSha` (a task branch's `.gitattributes` could otherwise hide every conflict of the files it
 * names). Inside a run the guard does so already.
 */
export async function unionAsThreeWay(
  repoRoot: string,
  baseSha: string,
  env: Record<string, string>,
): Promise<string[]> {
  if (configGuardFor(repoRoot) !== undefined) return [];
  const common = (
    await git(repoRoot, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { env })
  ).stdout.trim();
  const info = readSmallFile(join(common, 'info', 'attributes'), EXCLUDE_LIMIT)?.text ?? '';
  return (await unionInUse(repoRoot, baseSha, info, env))
    ? []
    : ['-c', `merge.union.driver=${MERGE_FILE}`];
}
