import { access, constants, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';

/**
 * Where an agent's executable is (`claude`, `codex`): the configured binary (a path, or a name
 * looked up on PATH), else `name` on PATH, else the project's `node_modules/.bin/<name>`. PATH
 * comes in as a string because the engine never reads the ambient environment.
 */
export async function resolveAgentBinary(options: {
  name: string;
  binary?: string;
  path: string;
  cwd: string;
}): Promise<string | null> {
  const defaultName = options.name;
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

async function isExecutable(path: string): Promise<boolean> {
  if (!(await isFile(path))) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info?.isFile() === true;
}
