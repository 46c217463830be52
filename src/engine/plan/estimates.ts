/**
 * Estimates are planning units, not clock time: a day is 8 working hours and a week 5 days, so
 * `2d` = 16h and `1w` = 40h. Ranges (`2-3 days`, `45-60 minutes`) count as their upper bound,
 * the figure a plan promises not to exceed.
 */
export const HOURS_PER_DAY = 8;
export const HOURS_PER_WEEK = 5 * HOURS_PER_DAY;

const UNIT_HOURS: Array<[RegExp, number]> = [
  [/^(w|wk|wks|weeks?|semanas?|周)$/u, HOURS_PER_WEEK],
  [/^(d|days?|dias?|días?|天|日)$/u, HOURS_PER_DAY],
  [/^(h|hr|hrs|hours?|horas?|小时|时)$/u, 1],
  [/^(m|min|mins|minutes?|minutos?|分钟|分)$/u, 1 / 60],
];

const PART =
  /(\d+(?:[.,]\d+)?)(?:\s*[-–—]\s*(\d+(?:[.,]\d+)?))?\s*([a-zA-Z\u00C0-\u024F\u4e00-\u9fff]+)/gu;

/** Hours in an estimate such as `6h`, `30min`, `1.5h`, `2d`, `1h 30min`, `4 hours`; null if none. */
export function parseDuration(raw: string): number | null {
  const text = raw
    .replace(/[~≈*`]/g, '')
    .trim()
    .toLowerCase();
  if (text === '') return null;
  let hours = 0;
  let leftover = text;
  for (const match of text.matchAll(PART)) {
    const unit = unitHours(match[3]!);
    if (unit === null) continue;
    hours += Number((match[2] ?? match[1]!).replace(',', '.')) * unit;
    leftover = leftover.replace(match[0], ' ');
  }
  if (leftover === text) return null;
  // Only units may be written: "Days 3-5" or "3 tools" are not estimates.
  if (leftover.replace(/\b(and|e|y|plus)\b|[\s()+,;]/g, '') !== '') return null;
  return round(hours);
}

function unitHours(unit: string): number | null {
  for (const [pattern, hours] of UNIT_HOURS) {
    if (pattern.test(unit)) return hours;
  }
  return null;
}

function round(hours: number): number {
  return Math.round(hours * 1000) / 1000;
}
