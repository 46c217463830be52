/**
 * Task ids a written word was probably meant to be: `Tl` for `T1`, `t-1` or `T1:` for `T1`, `T11`
 * for `T1`. A dependency typed wrong must not be dropped as free text, or its task starts early.
 * Only one ASCII word is compared, so prose (`after the API is done`, `当前文档`) never is.
 */

/** Upper case and punctuation gone: `t-1`, `T1:` and `[T1]` are all `T1`. */
function plainKey(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Also the letters people type for digits read as those digits: `Tl`, `TI` and `T1` agree. */
function confusedKey(text: string): string {
  return plainKey(text).replace(/[LI]/g, '1').replace(/O/g, '0');
}

/** Levenshtein distance, an adjacent swap counted as one edit (the CLI's option names use it too). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The ids in `ids` that `word` is close to, in plan order: the same once case, punctuation and
 * l/1, I/1, O/0 are set aside; else one edit away with the same first character, for a word with a
 * digit or of two characters (a longer word of letters alone is prose: `All` is not `A1`). [] when
 * none, or when `word` is not one short ASCII word.
 */
export function nearIds(word: string, ids: readonly string[]): string[] {
  const trimmed = word.trim();
  if (!/^[\x21-\x7e]{1,24}$/u.test(trimmed)) return [];
  const plain = plainKey(trimmed);
  if (plain.length < 2) return [];
  const keyed = ids
    .map((id) => ({ id, plain: plainKey(id), confused: confusedKey(id) }))
    .filter((entry) => entry.plain.length >= 2);
  const confused = confusedKey(trimmed);
  let found = keyed.filter((entry) => entry.confused === confused);
  if (found.length === 0 && (/\d/u.test(plain) || plain.length === 2)) {
    found = keyed.filter(
      (entry) => entry.plain[0] === plain[0] && editDistance(entry.plain, plain) <= 1,
    );
  }
  return [...new Set(found.map((entry) => entry.id))].filter((id) => id !== trimmed);
}

/** `did you mean T1?`, or `did you mean T1 or T2?` / `one of T1, T2, T3, …?` when several are. */
export function didYouMean(candidates: readonly string[]): string {
  if (candidates.length === 1) return `did you mean ${candidates[0]}?`;
  if (candidates.length === 2) return `did you mean ${candidates[0]} or ${candidates[1]}?`;
  const shown = candidates.slice(0, 4).join(', ');
  return `did you mean one of ${shown}${candidates.length > 4 ? ', …' : ''}?`;
}

/** The name a mistyped one was probably meant to be (at most 2 edits, fewer for short words). */
export function closestName(typed: string, names: readonly string[]): string | null {
  const allowed = Math.min(2, Math.floor(typed.length / 4));
  let best: string | null = null;
  let bestDistance = allowed + 1;
  for (const name of names) {
    const distance = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}
