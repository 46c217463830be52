/**
 * A reason cut to `max` characters for a line of output, keeping its end: a failure's reason reads
 * `what happened; …what the agent or the check said`, and the error is in the last words said (an
 * agent starts by naming its worktree and branch, which say nothing of what went wrong). The
 * leading clause (`agent exited with code 1`) stays when it is short; the middle goes.
 */
export function shortReason(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  if (chars.length <= max) return line;
  const cut = line.indexOf('; ');
  const head = cut < 0 ? '' : line.slice(0, cut);
  const keepHead = head !== '' && Array.from(head).length <= max / 3;
  const prefix = keepHead ? `${head}; …` : '…';
  const room = Math.max(0, max - Array.from(prefix).length);
  return `${prefix}${chars
    .slice(chars.length - room)
    .join('')
    .trimStart()}`;
}
