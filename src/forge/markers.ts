/**
 * Hidden markers find our comments again: `<!-- parallel-executor:report -->` at the top of the
 * body (so truncation never cuts it) identifies the one comment to edit in place.
 */

const PREFIX = 'parallel-executor:';

/** `report` → `<!-- parallel-executor:report -->`; a full `<!-- … -->` marker is kept as given. */
export function commentMarker(key: string): string {
  const trimmed = key.trim();
  if (trimmed.startsWith('<!--')) return trimmed;
  // `--` would end the HTML comment early and show the rest of the marker.
  const safe = trimmed.replace(/-{2,}/g, '-').replace(/[<>]/g, '');
  return `<!-- ${PREFIX}${safe} -->`;
}

/** The body with the marker on its first line, and nowhere else. */
export function withMarker(marker: string, body: string): string {
  const rest = body.split(marker).join('').replace(/^\n/, '');
  return `${marker}\n${rest}`;
}
