import { mergeTreeConflicts, type BranchTip } from '../conflicts.js';
import type { RepoGit } from '../repo.js';
import type { InteractionRisk } from '../schema.js';
import {
  taskChange,
  type ChangedSymbol,
  type OutlineCache,
  type TaskChange,
} from './task-change.js';

export type { InteractionRisk };

/**
 * Interaction risks between task branches that merge without a textual conflict.
 *
 * The rule, per pair of tasks A and B, each diffed from their merge base (so a task built on
 * another is only judged on its own commits):
 * 1. both change the same definition: the same function, method, class, constant or type in the
 *    same file (a change is pinned to the innermost definition around each changed line, at the
 *    base for removed lines and at the tip for added ones; renamed files keep their base name);
 * 2. one changes a definition that the other's changed code refers to by name, in any file: on
 *    a line the other added, or anywhere in a function, method or value the other changed (its
 *    new behaviour may rest on what the first changed; a changed class or type counts only by
 *    its changed lines, since its body is its members). A reference is a call, an attribute or property
 *    access, an import, a type annotation. A class name also refers to its constructor
 *    (`__init__`, `constructor`), and Python's operators to the methods they call (`in` to
 *    `__contains__`, `x[k]` to `__getitem__`, `str(x)` to `__str__`, …).
 * Names are matched by their last part (`Context.invoke` is used by `ctx.invoke(…)`), without
 * type resolution: a false alarm costs a look, a miss costs a broken main branch.
 * JS/TS files are parsed with the TypeScript compiler, Python with tree-sitter; files in other
 * languages are not looked at. Changes outside any definition (imports, module-level statements)
 * change no definition.
 */
export async function detectRisks(
  repo: RepoGit,
  baseSha: string,
  tips: readonly BranchTip[],
): Promise<InteractionRisk[]> {
  const cache: OutlineCache = new Map();
  const changes = new Map<string, Promise<TaskChange>>();
  const changeOf = (base: string, tip: string) => {
    const key = `${base}..${tip}`;
    let found = changes.get(key);
    if (found === undefined) {
      found = taskChange(repo, base, tip, cache);
      changes.set(key, found);
    }
    return found;
  };
  const risks: InteractionRisk[] = [];
  for (let i = 0; i < tips.length; i++) {
    for (let j = i + 1; j < tips.length; j++) {
      const a = tips[i]!;
      const b = tips[j]!;
      const tasks: [string, string] = [a.taskId, b.taskId];
      // Cheap first: a pair with nothing in common from the integration base needs no merge-tree
      // or merge-base (the changes from where the pair parts are a part of these).
      if (
        pairRisk(tasks, await changeOf(baseSha, a.sha), await changeOf(baseSha, b.sha)) === null
      ) {
        continue;
      }
      const conflicts = await mergeTreeConflicts(repo, a.sha, b.sha);
      if (conflicts === null || conflicts.length > 0) continue;
      const base = await pairBase(repo, baseSha, a.sha, b.sha);
      const risk = pairRisk(tasks, await changeOf(base, a.sha), await changeOf(base, b.sha));
      if (risk !== null) risks.push(risk);
    }
  }
  return risks;
}

/** Where the two commits part: the integration base for independent tasks. */
export async function pairBase(
  repo: RepoGit,
  baseSha: string,
  a: string,
  b: string,
): Promise<string> {
  const found = await repo.run(['merge-base', a, b], [1]);
  return found.exitCode === 0 ? found.stdout.trim() : baseSha;
}

/** Rules 1 and 2 above for one pair; null when neither holds. */
export function pairRisk(
  tasks: [string, string],
  a: TaskChange,
  b: TaskChange,
): InteractionRisk | null {
  const reasons: string[] = [];
  const files = new Set<string>();
  const symbols = new Set<string>();
  const key = (symbol: ChangedSymbol) => `${symbol.path}\0${symbol.name}`;
  const changedByB = new Set(b.changed.map(key));
  for (const symbol of a.changed.filter((symbol) => changedByB.has(key(symbol)))) {
    reasons.push(`both change ${symbol.name} in ${symbol.path}`);
    files.add(symbol.path);
    symbols.add(symbol.name);
  }
  const sameSymbols = new Set(symbols);
  for (const [changer, user, [changerId, userId]] of [
    [a, b, tasks],
    [b, a, [tasks[1], tasks[0]]],
  ] as const) {
    for (const symbol of changer.changed) {
      if (sameSymbols.has(symbol.name)) continue;
      const uses = user.references.filter((reference) => usedName(symbol) === reference.name);
      if (uses.length === 0) continue;
      const where = [...new Set(uses.map((use) => `${use.path}:${use.line}`))];
      const inside = uses.find((use) => use.within !== null)?.within;
      const by = uses.some((use) => use.within === null)
        ? `${userId}'s new code uses it`
        : `${userId} changes ${inside}, which uses it`;
      reasons.push(
        `${changerId} changes ${symbol.name} in ${symbol.path}; ${by} ` +
          `(${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''})`,
      );
      files.add(symbol.path);
      for (const use of uses) files.add(use.path);
      symbols.add(symbol.name);
    }
  }
  if (reasons.length === 0) return null;
  return {
    tasks,
    files: [...files].sort(),
    symbols: [...symbols].sort(),
    reason: reasons.join('; '),
  };
}

/** The name code uses to reach a definition: its last part, or its class for a constructor. */
function usedName(symbol: ChangedSymbol): string {
  const parts = symbol.name.split('.');
  const last = parts.at(-1)!;
  if ((last === '__init__' || last === 'constructor') && parts.length > 1) return parts.at(-2)!;
  return last;
}
