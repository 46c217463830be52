import { join } from 'node:path';
import { readText } from './detect-js.js';

/** The names GNU make looks for, in its own order. */
const MAKEFILE_NAMES = ['GNUmakefile', 'makefile', 'Makefile'] as const;

export interface Makefile {
  /** The file's name, for notes. */
  name: string;
  targets: ReadonlySet<string>;
}

/** The first Makefile in the worktree's root and its explicit targets, or null when none. */
export async function readMakefile(worktree: string): Promise<Makefile | null> {
  for (const name of MAKEFILE_NAMES) {
    const text = await readText(join(worktree, name));
    if (text !== null) return { name, targets: makeTargets(text) };
  }
  return null;
}

/**
 * Explicit targets from Makefile text: `test:` or `lint test: deps` at the start of a line. Recipe
 * lines (tab), variable assignments (`:=`, `::=`), special targets (`.PHONY`) and pattern rules
 * (`%.o:`) are left out. Targets made by includes or `$(eval)` are not seen; the config covers them.
 */
export function makeTargets(text: string): Set<string> {
  const targets = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^([^\s#:=][^:=#]*?)\s*::?(?![:=])/.exec(line);
    if (match === null) continue;
    for (const target of match[1]!.split(/\s+/)) {
      if (target.startsWith('.') || target.includes('%') || target.includes('$')) continue;
      targets.add(target);
    }
  }
  return targets;
}
