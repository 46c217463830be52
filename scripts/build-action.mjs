#!/usr/bin/env node
/**
 * Bundles the action into `dist/action/`, which is committed (runners do not install
 * dependencies): `index.js`, the file action.yml names; `typescript.js`, the TypeScript compiler,
 * minified and loaded only when interaction-risk detection reads a JS/TS file; and the `.wasm`
 * files tree-sitter loads for Python (python-outline.ts finds them next to the bundle).
 * `node scripts/build-action.mjs [outdir]` builds elsewhere; the test that compares a fresh build
 * with the committed one uses that.
 */
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What python-outline.ts loads; each goes next to the bundle under its own file name. */
const WASM_FILES = [
  'web-tree-sitter/web-tree-sitter.wasm',
  '@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm',
];

const common = {
  absWorkingDir: root,
  // Resolve through symlinks as they appear (a linked node_modules), so bundle paths stay
  // relative to the repository and the build is the same wherever it runs.
  preserveSymlinks: true,
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
};

/** `import('typescript')` in the action becomes `import('./typescript.js')`, the file beside it. */
const typescriptBeside = {
  name: 'typescript-beside',
  setup(build) {
    build.onResolve({ filter: /^typescript$/ }, () => ({
      path: './typescript.js',
      external: true,
    }));
  },
};

export async function buildAction(outdir = join(root, 'dist', 'action')) {
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'action', 'index.ts')],
    outfile: join(outdir, 'index.js'),
    plugins: [typescriptBeside],
  });
  await build({
    ...common,
    stdin: {
      contents: "import ts from 'typescript'; export default ts;",
      resolveDir: root,
      sourcefile: 'typescript-entry.js',
    },
    outfile: join(outdir, 'typescript.js'),
    // The compiler's Node system asks for its own file when it loads (CommonJS names for it).
    banner: {
      js: `${common.banner.js} import { fileURLToPath as __peFileURLToPath } from 'node:url'; const __filename = __peFileURLToPath(import.meta.url); const __dirname = __peFileURLToPath(new URL('.', import.meta.url));`,
    },
    // 13 MB of compiler as written, 5 MB minified; nobody reads this file.
    minify: true,
  });
  const require = createRequire(join(root, 'package.json'));
  await mkdir(outdir, { recursive: true });
  for (const specifier of WASM_FILES) {
    // Read and written, not copied: the copy is a plain file whatever mode the package gave it.
    await writeFile(join(outdir, basename(specifier)), await readFile(require.resolve(specifier)));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAction(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
