/**
 * Every worktree of a run shares the repository's config (`.git/config`), so an agent can name
 * commands there that the tool's own git would then run, and that change what it commits and
 * merges: a clean filter (`filter.<name>.clean`, with `* filter=<name>` in `.git/info/attributes`
 * or a `.gitattributes`) rewrites every other task's files as the tool commits them, a merge
 * driver that exits 0 (`merge.<name>.driver`, or `merge.default`) makes a conflict between two
 * tasks a clean merge, with one side's work gone. The guard holds the config's settings as they
 * were when the execution started; while it is on, each git call of the tool's under the
 * repository or its worktree folder gets, for each such setting added or changed since, the
 * start's value back or a harmless one (command-line settings, which git reads last). The config file is read on
 * each call (a small file); git is asked to parse it only when its text changed.
 *
 * What it does not cover: a worktree's own `config.worktree` (with `extensions.worktreeConfig`
 * set during the run, named in the report as a config change), and your global config.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { git } from './git-exec.js';

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
];

export interface ConfigGuardOptions {
  /** The repository's common git folder (its `config` is the one guarded). */
  commonDir: string;
  /** The config file's text when the execution started (the checkout watch's snapshot). */
  startText: string;
  /** Folders whose git calls are guarded: the repository's top and the worktrees' folder. */
  roots: readonly string[];
  /** Parses a config text into `[key, value]` entries (git config --list -z), in file order. */
  parse: (text: string) => Promise<Array<[string, string]>>;
}

export interface ConfigGuard {
  /** Whether a git call in `cwd` is the guard's to harden. */
  covers(cwd: string): boolean;
  /**
   * The settings to give git now, as `[key, value]` (none while the config is as it was at the
   * start). Passed through GIT_CONFIG_COUNT rather than `-c`: a subsection may hold a `=`.
   */
  overrides(): Promise<ReadonlyArray<readonly [string, string]>>;
}

export function configGuard(options: ConfigGuardOptions): ConfigGuard {
  const file = join(options.commonDir, 'config');
  let trusted: Promise<Map<string, string[]>> | null = null;
  let last: { text: string; pairs: Promise<Array<[string, string]>> } | null = null;

  const byKey = async (text: string) => {
    const map = new Map<string, string[]>();
    for (const [key, value] of await options.parse(text)) {
      map.set(key, [...(map.get(key) ?? []), value]);
    }
    return map;
  };

  async function compute(text: string): Promise<Array<[string, string]>> {
    trusted ??= byKey(options.startText);
    const [start, now] = await Promise.all([trusted, byKey(text)]);
    const pairs: Array<[string, string]> = [];
    for (const [key, values] of now) {
      const guarded = GUARDED.find((rule) => rule.pattern.test(key));
      if (guarded === undefined) continue;
      const before = start.get(key);
      if (before !== undefined && sameValues(before, values)) continue;
      pairs.push([key, before?.at(-1) ?? guarded.neutral]);
    }
    return pairs;
  }

  return {
    covers(cwd) {
      return options.roots.some((root) => {
        const path = relative(root, cwd);
        return path === '' || (!path.startsWith('..') && !isAbsolute(path));
      });
    },
    async overrides() {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text === options.startText) return [];
      if (last?.text !== text) last = { text, pairs: compute(text) };
      return last.pairs;
    },
  };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
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
