/** Numbers and times as people read them. Pure and locale-independent, so snapshots are stable. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `850ms`, `12.4s`, `3min 12s`, `1h 32min`, `2d 3h`: the two largest units that matter. */
export function formatDuration(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < SECOND) return `${value}ms`;
  if (value < 10 * SECOND) return `${trimZero((value / SECOND).toFixed(1))}s`;
  if (value < MINUTE) return `${Math.floor(value / SECOND)}s`;
  if (value < HOUR)
    return withRest(Math.floor(value / MINUTE), 'min', Math.floor((value % MINUTE) / SECOND), 's');
  if (value < DAY)
    return withRest(Math.floor(value / HOUR), 'h', Math.floor((value % HOUR) / MINUTE), 'min');
  return withRest(Math.floor(value / DAY), 'd', Math.floor((value % DAY) / HOUR), 'h');
}

function withRest(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit} ${minor}${minorUnit}`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** `01:23:45` (hours grow past 99 rather than wrap), the seed's dashboard runtime. */
export function formatClock(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / SECOND));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
}

/** `2025-11-29 14:30:52 UTC`. Reports use UTC so they read the same wherever they are rendered. */
export function formatTimestamp(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 10)} ${formatTimeOfDay(date)} UTC`;
}

/** `14:30:52` in UTC. */
export function formatTimeOfDay(date: Date): string {
  return date.toISOString().slice(11, 19);
}

/** `1,234,567`. */
export function formatCount(value: number): string {
  const [whole = '0', fraction] = String(value).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? `${sign}${digits}` : `${sign}${digits}.${fraction}`;
}

/**
 * `$3.42`, `$0.015`, `$0.0042`: cents, with more decimals whenever cents would be off by more than
 * half a percent (`$0.015` is not `$0.01`, and a cheap run does not read as free). The stored
 * figure is never rounded; only this text is.
 */
export function formatCost(usd: number): string {
  let decimals = 2;
  while (decimals < 6 && Math.abs(Number(usd.toFixed(decimals)) - usd) > Math.abs(usd) * 0.005) {
    decimals += 1;
  }
  return `$${usd.toFixed(decimals)}`;
}

/** `45%`. */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** `2.6×`. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(1)}×`;
}

/** Milliseconds between two ISO timestamps, or null when either is missing or unreadable. */
export function elapsedMs(from: string | null, to: string | Date | null): number | null {
  if (from === null || to === null) return null;
  const start = Date.parse(from);
  const end = typeof to === 'string' ? Date.parse(to) : to.getTime();
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return Math.max(0, end - start);
}

/**
 * How long something ran: from `from` to `to`, less `stoppedMs`, the time it stood stopped
 * before a resume went on with it. Null as `elapsedMs`.
 */
export function activeMs(
  from: string | null,
  to: string | Date | null,
  stoppedMs: number | undefined,
): number | null {
  const elapsed = elapsedMs(from, to);
  return elapsed === null ? null : Math.max(0, elapsed - (stoppedMs ?? 0));
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}
