/**
 * Small JSON records hidden in Markdown we post (comments, check run summaries): an HTML comment
 * that GitHub does not show. The JSON is base64url-encoded so no text inside it can end the
 * comment early. Whoever could edit the text could forge it, so callers only read it from text the
 * app itself wrote (comments by the app's login, check runs of the app).
 */
import type { z } from 'zod';
import { escapeRegExp } from '../../engine/regexp.js';

const PREFIX = 'parallel-executor:';

export function hiddenData(key: string, value: unknown): string {
  const encoded = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `<!-- ${PREFIX}${key} ${encoded} -->`;
}

/** The record stored under `key` in `text`, or null when there is none or it does not parse. */
export function readHiddenData<T>(text: string, key: string, schema: z.ZodType<T>): T | null {
  const pattern = new RegExp(`<!-- ${escapeRegExp(PREFIX + key)} ([A-Za-z0-9_-]+) -->`);
  const match = pattern.exec(text);
  if (!match) return null;
  try {
    const json: unknown = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8'));
    const parsed = schema.safeParse(json);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
