/**
 * Escaping for untrusted text (plan titles, agent reasons, file names) placed into Markdown that
 * GitHub renders. The text must stay text: it may not open a heading, a list, a table cell, a
 * link, an HTML tag, a math block or a code span of its own, nor end the line it is on.
 */

// Control characters (C0, DEL, C1) are dropped, terminals and renderers treat them specially; so
// are bidirectional overrides, which make text read differently from what it is.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAKS = /\s*(?:\r\n|\r|\n|\u2028|\u2029)\s*/g;
// Every ASCII character that can start or end inline Markdown syntax on GitHub (`$` opens math,
// `|` splits table cells, `<` opens HTML, `&` starts an entity, `#` closes a heading). Parentheses
// and `!` only matter next to a bracket, which is escaped.
const MARKDOWN_PUNCTUATION = /[\\`*_[\]<>#|~$&]/g;

/** One line of plain text, however many lines (and control characters) it came with. */
export function singleLine(text: string): string {
  return text.replace(CONTROL, '').replace(LINE_BREAKS, ' ').replace(/\t/g, ' ').trim();
}

/** Cut to at most `max` characters (by code point, so no half surrogate pair), with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

// GitHub links some plain text after rendering, so escaping does not stop it: `@user` and
// `@org/team` ping (a mention notifies), `#12`, `GH-12` and `owner/repo#12` cross-reference (and
// post a back-link on that issue), bare URLs and `www.` become links. A word joiner (U+2060,
// invisible) breaks each pattern while the text reads the same.
const JOINER = '\u2060';
const AUTOLINKS: [RegExp, string][] = [
  [/@(?=[A-Za-z0-9])/g, `@${JOINER}`],
  [/#(?=\d)/g, `#${JOINER}`],
  [/\b(GH)-(?=\d)/gi, `$1-${JOINER}`],
  [/:\/\//g, `:${JOINER}//`],
  [/\b(www)\./gi, `$1${JOINER}.`],
];

/** Text with GitHub's mentions, issue references and autolinks broken by an invisible joiner. */
export function unlinked(text: string): string {
  return AUTOLINKS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

/**
 * A whole Markdown document someone else wrote (a report a job uploaded), posted as it is: its
 * headings, lists and tables stay, but it carries no HTML of its own (a joiner after every `<`,
 * so no tag and no `<!--` hidden marker or record of the ones the app finds its comments by), no
 * image (`![` broken), and no mention, issue reference or link GitHub would make of its text.
 */
export function untrustedMarkdown(text: string): string {
  return unlinked(
    text.replace(CONTROL, '').replace(/</g, `<${JOINER}`).replace(/!\[/g, `!${JOINER}[`),
  );
}

/**
 * Untrusted text as inline Markdown: one line, every syntax character escaped, and no mention,
 * issue reference or link GitHub would make of it (plan text must not ping people or teams from
 * the bot's comments). The one escaper for every Markdown the tool writes.
 */
export function mdText(text: string, max = 200): string {
  return unlinked(truncate(singleLine(text), max).replace(MARKDOWN_PUNCTUATION, (c) => `\\${c}`));
}

/**
 * Untrusted text as an inline code span (file names, branches, commands). The fence is longer
 * than any backtick run inside; pipes are escaped because GFM splits table cells on them even
 * inside code spans (and renders `\|` there as `|`).
 */
export function mdCode(text: string, max = 200): string {
  const body = truncate(singleLine(text), max)
    .replace(/\|/g, '\\|')
    // A code span shows `<!--` as text, but the comment's source still holds it, and the app finds
    // its own comments and hidden records by such markers: a joiner breaks every one.
    .replace(/<!--/g, `<${JOINER}!--`);
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || body === '' ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A GFM table row from already-escaped cells. */
/**
 * A commit in text a person reads on GitHub: the full SHA, bare, which a comment shows as a short
 * SHA linked to the commit (a short SHA, or any SHA in a code span, would be dead text); a
 * committed report keeps the exact commit. Anything that is not a full SHA is code.
 */
export function mdSha(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha : mdCode(sha);
}

export function mdRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A GFM table: header, alignment row, body rows. Cells must already be escaped. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [mdRow(header), mdRow(header.map(() => '---')), ...rows.map(mdRow)];
}

/**
 * An argument as the user would type it in a POSIX shell, for commands the report suggests
 * (they are shown, never run; the user copies them).
 */
export function shellArg(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
