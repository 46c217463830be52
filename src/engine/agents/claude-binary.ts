import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isFile } from './agent-binary.js';

/**
 * Whether Claude Code has some way to authenticate: an API key, an auth/OAuth token, a custom
 * base URL (a gateway or proxy may not need a key), Bedrock/Vertex, or a `claude login` session
 * stored in its config folder.
 */
export async function hasClaudeCredentials(env: Record<string, string>): Promise<boolean> {
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
  if (
    [
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_AUTH_TOKEN',
      'CLAUDE_CODE_OAUTH_TOKEN',
      'ANTHROPIC_BASE_URL',
    ].some(set)
  )
    return true;
  if (env['CLAUDE_CODE_USE_BEDROCK'] === '1' || env['CLAUDE_CODE_USE_VERTEX'] === '1') return true;
  const home = env['HOME'] ?? env['USERPROFILE'];
  const configDir = env['CLAUDE_CONFIG_DIR'] ?? (home === undefined ? null : join(home, '.claude'));
  if (configDir !== null && (await isFile(join(configDir, '.credentials.json')))) return true;
  // On macOS the login lives in the keychain; the account record in ~/.claude.json says it exists.
  if (home === undefined) return false;
  const profile = await readFile(join(home, '.claude.json'), 'utf8').catch(() => '');
  return /"oauthAccount"\s*:\s*\{/.test(profile);
}
