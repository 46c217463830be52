/** One file in `git diff -U0`: its path at the base and at the tip, and the lines that changed. */
export interface FileChange {
  /** Null for a file the change adds. */
  basePath: string | null;
  /** Null for a file the change deletes. */
  tipPath: string | null;
  /** Lines removed or replaced, numbered at the base; blank lines left out. */
  removed: number[];
  /** Lines added or replacing others, numbered at the tip; blank lines left out. */
  added: number[];
}

/**
 * Read the output of `git diff -U0 --no-color -M base tip` (with `core.quotePath=false`). Renames
 * keep both paths, so a change is pinned to the file's name at the base.
 */
export function parseDiff(text: string): FileChange[] {
  const files: FileChange[] = [];
  let current: FileChange | null = null;
  // The next line number on each side inside the current hunk.
  let oldLine = 0;
  let newLine = 0;
  for (const line of text.split('\n')) {
    if (current !== null && oldLine > 0 && (line.startsWith('-') || line.startsWith('+'))) {
      // Inside a hunk (-U0: no context lines); a blank line changes no definition.
      const isOld = line.startsWith('-');
      const number = isOld ? oldLine++ : newLine++;
      if (line.slice(1).trim() !== '') (isOld ? current.removed : current.added).push(number);
      continue;
    }
    if (!line.startsWith('\\')) oldLine = 0;
    if (line.startsWith('diff --git ')) {
      current = { basePath: null, tipPath: null, removed: [], added: [] };
      files.push(current);
    } else if (current === null) {
      continue;
    } else if (line.startsWith('--- ')) {
      current.basePath = diffPath(line.slice(4), 'a/');
    } else if (line.startsWith('+++ ')) {
      current.tipPath = diffPath(line.slice(4), 'b/');
    } else if (line.startsWith('rename from ')) {
      current.basePath = unquote(line.slice('rename from '.length));
    } else if (line.startsWith('rename to ')) {
      current.tipPath = unquote(line.slice('rename to '.length));
    } else if (line.startsWith('@@ ')) {
      const ranges = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      if (ranges === null) continue;
      // A side with no lines names the line before it (0 at the top); the -/+ lines say which.
      oldLine = Math.max(Number(ranges[1]), 1);
      newLine = Math.max(Number(ranges[2]), 1);
    }
  }
  return files;
}

function diffPath(text: string, prefix: string): string | null {
  if (text === '/dev/null') return null;
  const path = unquote(text);
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/** git quotes a path with unusual bytes in C style: "a/caf\303\251.py". */
function unquote(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"')) return text;
  const bytes: number[] = [];
  const body = text.slice(1, -1);
  const escapes: Record<string, number> = {
    n: 10,
    t: 9,
    '"': 34,
    '\\': 92,
    a: 7,
    b: 8,
    f: 12,
    r: 13,
    v: 11,
  };
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'));
      continue;
    }
    const next = body[index + 1]!;
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(index + 1, index + 4), 8));
      index += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      index += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
