/**
 * What a terminal can show, decided once for every command that draws: colour by the usual
 * conventions (https://no-color.org, FORCE_COLOR), and whether it can redraw in place.
 */
export interface TerminalKind {
  /** Redraw in place (cursor movement); a pipe or `TERM=dumb` gets one line per event. */
  live: boolean;
  color: boolean;
}

export function terminalKind(
  env: Record<string, string | undefined>,
  isTTY: boolean | undefined,
): TerminalKind {
  const dumb = env['TERM'] === 'dumb';
  const live = isTTY === true && !dumb;
  // NO_COLOR counts only when set to something: `NO_COLOR=` leaves colour on.
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return { live, color: false };
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '')
    return { live, color: force !== '0' && force !== 'false' };
  return { live, color: live };
}
