/**
 * The Action's dist layout, against alternatives built in the same run: size on disk and the
 * start-up of a step (`node index.js` with an invalid mode: load the bundle, read the inputs,
 * fail). The shipped layout (scripts/build-action.mjs: index.js plus a minified typescript.js it
 * loads only for interaction risks) is compared with one file holding the compiler as written
 * (what the build did before) and with that file minified.
 *   npx tsx bench/action-bundle.ts [runs]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const runs = Number(process.argv[2] ?? 10);
const root = resolve(import.meta.dirname, '..');
const dir = await mkdtemp(join(tmpdir(), 'pe-bench-bundle-'));
const execute = promisify(execFile);

// @ts-expect-error -- a plain .mjs build script without types
const { buildAction } = (await import('../scripts/build-action.mjs')) as {
  buildAction: (outdir: string) => Promise<void>;
};
await buildAction(join(dir, 'shipped'));

/** One file, the compiler inside, as the build was before the split. */
async function singleFile(name: string, minify: boolean): Promise<void> {
  await build({
    absWorkingDir: root,
    preserveSymlinks: true,
    entryPoints: [join(root, 'src', 'action', 'index.ts')],
    outfile: join(dir, name, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: {
      js: "import { createRequire as __peCreateRequire } from 'node:module'; const require = __peCreateRequire(import.meta.url); import { fileURLToPath as __peFileURLToPath } from 'node:url'; const __filename = __peFileURLToPath(import.meta.url); const __dirname = __peFileURLToPath(new URL('.', import.meta.url));",
    },
    logLevel: 'error',
    minify,
  });
}
await singleFile('single', false);
await singleFile('single-minified', true);

async function megabytes(folder: string, name?: string): Promise<string> {
  const names = name === undefined ? await readdir(folder) : [name];
  let bytes = 0;
  for (const file of names) bytes += (await stat(join(folder, file))).size;
  return (bytes / 1e6).toFixed(2);
}

async function startup(folder: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await execute(process.execPath, [join(folder, 'index.js')], {
      env: { PATH: process.env.PATH ?? '', INPUT_MODE: 'deploy' },
      cwd: dir,
    }).catch(() => undefined);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const baseline = await startup(join(dir, 'single'));
console.log(`runs: ${runs}; start-up is the median of a failing step (invalid mode)`);
for (const name of ['single', 'single-minified', 'shipped']) {
  const folder = join(dir, name);
  const time = name === 'single' ? baseline : await startup(folder);
  console.log(
    `${name.padEnd(16)} total ${await megabytes(folder)} MB, index.js ${await megabytes(folder, 'index.js')} MB, ` +
      `start-up ${time.toFixed(0)} ms (${(time / baseline).toFixed(2)}× single)`,
  );
}
await rm(dir, { recursive: true, force: true });
