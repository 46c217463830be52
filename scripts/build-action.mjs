#!/usr/bin/env node
/**
 * Bundles the action into one ESM file, `dist/action/index.js`, which action.yml names and which
 * is committed (runners do not install dependencies). `node scripts/build-action.mjs [outdir]`
 * builds elsewhere; the test that compares a fresh build with the committed one uses that.
 */
import { build } from 'esbuild';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildAction(outdir = join(root, 'dist', 'action')) {
  await build({
    absWorkingDir: root,
    // Resolve through symlinks as they appear (a linked node_modules), so bundle paths stay
    // relative to the repository and the build is the same wherever it runs.
    preserveSymlinks: true,
    entryPoints: [join(root, 'src', 'action', 'index.ts')],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies call require() for Node built-ins; ESM output has none of its own.
    banner: {
      js: "import { createRequire as __peCreateRequire } from 'node:module'; const require = __peCreateRequire(import.meta.url);",
    },
    legalComments: 'eof',
    logLevel: 'warning',
    // Paths in the bundle's comments are relative to the repository, so the build is reproducible.
    sourcemap: false,
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAction(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
