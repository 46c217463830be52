import { describe, expect, it } from 'vitest';
import { terminalKind } from '../../src/cli/terminal.js';

describe('what the terminal can show', () => {
  it.each([
    [{}, true, { live: true, color: true }],
    [{}, false, { live: false, color: false }],
    [{ NO_COLOR: '1' }, true, { live: true, color: false }],
    // An empty NO_COLOR does not count (no-color.org).
    [{ NO_COLOR: '' }, true, { live: true, color: true }],
    [{ FORCE_COLOR: '1' }, false, { live: false, color: true }],
    [{ FORCE_COLOR: '0' }, true, { live: true, color: false }],
    [{ TERM: 'dumb' }, true, { live: false, color: false }],
    [{ TERM: 'dumb', FORCE_COLOR: '1' }, true, { live: false, color: true }],
  ])('%j on a tty=%s → %j', (env, tty, expected) => {
    expect(terminalKind(env, tty)).toEqual(expected);
  });
});
