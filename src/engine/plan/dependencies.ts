import { isEmptyValue } from './agent-names.js';
import { expandRange, idRange, isIdLike } from './ids.js';
import { nearIds } from './near-ids.js';

/** What the rest of the plan looks like from one task, to resolve its dependency text. */
export interface DependencyScope {
  /** Every task id in document order. */
  ids: readonly string[];
  titles: ReadonlyMap<string, string>;
  /** Groups in document order. */
  groups: ReadonlyArray<{ id: string; title: string }>;
  selfId: string | null;
  selfGroup: string | null;
}

export interface ParsedDependencies {
  ids: string[];
  groups: string[];
  allPrevious: boolean;
  allPreviousGroups: boolean;
  /** Clauses that name nothing the parser can resolve. */
  unresolved: string[];
  /** Clauses that are no task id but are close to some (`Tl` for `T1`): what was written, and those. */
  misspelled: Array<{ text: string; ids: string[] }>;
  /** `Group 7 complete` where the plan has no group 7: the names as written. */
  unknownGroups: string[];
  /** The task names itself among its dependencies (kept out of `ids`, reported as an error). */
  selfReference: boolean;
}

const NOT_A_DEPENDENCY = /\b(overlap|in parallel|concurrently|can start|anytime|any time)\b/iu;
const DONE_SUFFIX =
  /\s+(?:is\s+|are\s+)?(?:complete|completed|done|finished|merged|ready|landed|concluíd[oa]s?)\.?$/iu;
const LEADING_VERB =
  /^(?:after|requires?|needs?|waits?\s+for|depends\s+on|blocked\s+by|following)\s+/iu;

/**
 * Read a dependency cell or field: ids (`T1, T3`, `T1 and T3`), ranges (`T1-T9`, `T-03 – T-07`,
 * `all of A0–A7`), `None`/`—`/`-`, `All above`, `Group 2 complete`, `All previous groups complete`.
 * A clause like `Integration complete` resolves to the one task (or else group) with that phrase
 * in its title; anything else is reported, never guessed.
 */
export function parseDependencyText(raw: string, scope: DependencyScope): ParsedDependencies {
  const result: ParsedDependencies = {
    ids: [],
    groups: [],
    allPrevious: false,
    allPreviousGroups: false,
    unresolved: [],
    misspelled: [],
    unknownGroups: [],
    selfReference: false,
  };
  const text = raw.replace(/[*`]/g, '').trim();
  if (
    isEmptyValue(text) ||
    /^(none|nenhuma?|ninguna?|no dependencies|sem dependências|无)\b/iu.test(text)
  ) {
    return result;
  }
  const withoutNotes = text.replace(/\([^()]*\)/g, ' ');
  const clauses = withoutNotes
    .split(/\s*(?:,|;|\band\b|&|\+|、|，|\s\/\s)\s*/u)
    .map((clause) => clause.trim())
    .filter((clause) => clause !== '');
  for (const clause of clauses) readClause(clause, scope, result);
  result.selfReference = scope.selfId !== null && result.ids.includes(scope.selfId);
  result.ids = [...new Set(result.ids)].filter((id) => id !== scope.selfId);
  result.groups = [...new Set(result.groups)];
  return result;
}

function readClause(clause: string, scope: DependencyScope, result: ParsedDependencies): void {
  if (NOT_A_DEPENDENCY.test(clause)) return;
  const finished = DONE_SUFFIX.test(clause);
  const core = clause.replace(DONE_SUFFIX, '').replace(LEADING_VERB, '').trim();
  if (/^all\s+(?:the\s+)?previous\s+(?:groups|phases|waves|batches|stages)$/iu.test(core)) {
    result.allPreviousGroups = true;
    return;
  }
  if (
    /^all(?:\s+(?:tasks\s+)?(?:above|previous|prior|preceding|earlier)(?:\s+tasks)?)$/iu.test(core)
  ) {
    result.allPrevious = true;
    return;
  }
  const group = /^(?:parallel\s+)?(?:group|phase|wave|batch|stage|lane)\s+([\w.-]+)$/iu.exec(core);
  if (group) {
    const found = scope.groups.find((g) => g.id.toLowerCase() === group[1]!.toLowerCase());
    if (found) result.groups.push(found.id);
    else result.unknownGroups.push(group[1]!);
    return;
  }
  const bare = core.replace(/^(?:all\s+of\s+|tasks?\s+|tarefas?\s+)/iu, '').trim();
  const range = idRange(bare);
  if (range) {
    readRange(range, scope, result);
    return;
  }
  const known = findId(bare, scope.ids);
  if (known) {
    result.ids.push(known);
    return;
  }
  if (isIdLike(bare)) {
    // Written as an id: keep it, so validation reports an unknown dependency with its name.
    result.ids.push(bare);
    return;
  }
  if (finished || /^all\s/iu.test(core)) {
    const named = byName(core.replace(/^all\s+/iu, ''), scope);
    if (named) {
      (named.kind === 'task' ? result.ids : result.groups).push(named.id);
      return;
    }
  }
  // An id typed wrong is not prose to ignore: read as free text, its task would start too early.
  const near = nearIds(bare, scope.ids);
  if (near.length > 0) {
    result.misspelled.push({ text: bare, ids: near });
    return;
  }
  result.unresolved.push(clause);
}

function readRange(
  [from, to]: [string, string],
  scope: DependencyScope,
  result: ParsedDependencies,
): void {
  const expanded = expandRange(from, to);
  const known = (expanded ?? [])
    .map((id) => findId(id, scope.ids))
    .filter((id): id is string => id !== null);
  if (known.length > 0) {
    result.ids.push(...known);
    return;
  }
  result.ids.push(from, to);
}

/** Exact and lower-case lookups, built once per id list (a plan does thousands of lookups). */
const indexes = new WeakMap<
  readonly string[],
  { exact: Set<string>; lower: Map<string, string> }
>();

function findId(word: string, ids: readonly string[]): string | null {
  let index = indexes.get(ids);
  if (!index) {
    index = { exact: new Set(ids), lower: new Map() };
    for (const id of ids) {
      if (!index.lower.has(id.toLowerCase())) index.lower.set(id.toLowerCase(), id);
    }
    indexes.set(ids, index);
  }
  if (index.exact.has(word)) return word;
  return index.lower.get(word.toLowerCase()) ?? null;
}

/** `Integration complete` → the one task whose title holds the phrase, else the one group. */
function byName(
  phrase: string,
  scope: DependencyScope,
): { kind: 'task' | 'group'; id: string } | null {
  const needle = words(phrase);
  if (needle.trim().length < 3) return null;
  const tasks = [...scope.titles].filter(
    ([id, title]) => id !== scope.selfId && words(title).includes(needle),
  );
  if (tasks.length === 1) return { kind: 'task', id: tasks[0]![0] };
  if (tasks.length > 1) return null;
  const groups = scope.groups.filter(
    (group) => group.id !== scope.selfGroup && words(group.title).includes(needle),
  );
  return groups.length === 1 ? { kind: 'group', id: groups[0]!.id } : null;
}

function words(text: string): string {
  const normalised = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return normalised === '' ? '' : ` ${normalised} `.replace(/s /g, ' ');
}
