/**
 * Task ids as people write them: `1.1`, `T1`, `T-001`, `TASK_003`, `2C`, `A0`, `B1..Bn`. A bare
 * number is not an id (it is a section or list number), nor is a date.
 */
export function isIdLike(word: string): boolean {
  if (word.length === 0 || word.length > 24) return false;
  if (!/^[A-Za-z0-9][\w.-]*$/u.test(word) || !/\d/u.test(word)) return false;
  if (/^\d{4}-\d{2}(-\d{2})?$/u.test(word)) return false;
  return /[A-Za-z]/u.test(word) || /^\d+(\.\d+)+$/u.test(word);
}

/** `T1`-`T9`, `T-03 – T-07`, `A0–A7`, `2.1-2.4`: the two ends, or null. */
const RANGE =
  /^([A-Za-z][\w]*?[-_]?\d+|\d+(?:\.\d+)+)(?:\s*(?:-|–|—|\.\.)\s*|\s+(?:to|até|a|through)\s+)([A-Za-z][\w]*?[-_]?\d+|\d+(?:\.\d+)+)$/iu;

/** The two ends of a written range, or null. */
export function idRange(text: string): [string, string] | null {
  const match = RANGE.exec(text.trim());
  return match ? [match[1]!, match[2]!] : null;
}

/** Every id between two ends that share a prefix (`T-03`..`T-07`), keeping zero padding. */
export function expandRange(from: string, to: string): string[] | null {
  const a = /^(.*?)(\d+)$/u.exec(from);
  const b = /^(.*?)(\d+)$/u.exec(to);
  if (!a || !b || a[1]!.toLowerCase() !== b[1]!.toLowerCase()) return null;
  const low = Number(a[2]);
  const high = Number(b[2]);
  if (high < low || high - low > 500) return null;
  const width = a[2]!.startsWith('0') ? a[2]!.length : 0;
  const ids: string[] = [];
  for (let n = low; n <= high; n += 1) ids.push(`${a[1]}${String(n).padStart(width, '0')}`);
  return ids;
}

/** Lower-case, ASCII-ish slug for generated ids. */
function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9\u4e00-\u9fff]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32);
}

/**
 * The id of a task the plan does not number. It depends on the group and the task's position in
 * it (`G2-T3`: third task of group 2), not on its title, so rewording a task keeps its id and its
 * branch. Tasks outside any group are numbered through the plan (`T-4`, with a dash so it cannot
 * clash with a board's own `T4`). A group with a long name uses its slug (`testing-T1`).
 */
export function generatedId(group: string | null, position: number): string {
  if (group === null) return `T-${position}`;
  const part = slug(group) || 'group';
  return part.length <= 4 ? `G${part.toUpperCase()}-T${position}` : `${part}-T${position}`;
}
