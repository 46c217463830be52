import { access, constants, readFile, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';

/**
 * Where the `claude` executable is: the configured binary (a path, or a name looked up on PATH),
 * else `claude` on PATH, else the project's `node_modules/.bin/claude`. PATH comes in as a
 * string because the engine never reads the ambient environment. `name` finds another agent's
 * CLI the same way (`codex`).
 */
export async function resolveClaudeBinary(options: {
  binary?: string;
  path: string;
  cwd: string;
  name?: string;
}): Promise<string | null> {
  const defaultName = options.name ?? 'claude';
  const name = options.binary ?? defaultName;
  if (name.includes('/')) {
    const candidate = resolve(options.cwd, name);
    return (await isExecutable(candidate)) ? candidate : null;
  }
  for (const directory of options.path.split(delimiter)) {
    // An empty PATH entry means the current directory, as in a POSIX shell.
    const candidate = resolve(options.cwd, directory === '' ? '.' : directory, name);
    if (await isExecutable(candidate)) return candidate;
  }
  if (options.binary !== undefined) return null;
  const local = join(options.cwd, 'node_modules', '.bin', defaultName);
  return (await isExecutable(local)) ? local : null;
}

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

async function isExecutable(path: string): Promise<boolean> {
  if (!(await isFile(path))) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info?.isFile() === true;
}
