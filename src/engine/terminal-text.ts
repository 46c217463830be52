/**
 * Agent output is written for a terminal: colours, cursor moves, titles, progress bars redrawn
 * with `\r`. Shown again in a failure line, the dashboard or a report, those codes would repaint
 * the user's terminal (or leave `[31m` litter where the ESC was dropped), so whatever an agent says
 * is reduced to the text a terminal would have displayed.
 */

// CSI (`ESC [ … final`, and its 8-bit form), OSC/DCS/APC/PM/SOS strings up to BEL or ST, and the
// two-character escapes (`ESC 7`, `ESC (B`, …).
const ESCAPE_SEQUENCE =
  // eslint-disable-next-line no-control-regex
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[ -/]*[0-~]/g;
// Control characters but tab and line feed, once the sequences they start are gone.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` without terminal escape sequences and control characters; `\r` redraws keep the last. */
export function plainText(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .split('\n')
    .map(lastRedraw)
    .join('\n')
    .replace(CONTROL, '');
}

/** `10%\r20%\r30%` is what a progress bar prints; a terminal shows only the last of them. */
function lastRedraw(line: string): string {
  const drawn = line.split('\r').filter((part) => part !== '');
  return drawn[drawn.length - 1] ?? '';
}
