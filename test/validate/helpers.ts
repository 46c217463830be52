import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Config } from '../../src/engine/config/schema.js';

/** A temporary folder per test, removed afterwards. */
export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `pe-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
}

export function validationConfig(input: Record<string, unknown> = {}): Config['validation'] {
  return Config.parse({ validation: input }).validation;
}

/** The checks' environment: the test process's own, so `npm`, `node` and `sh` are found. */
export function childEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
}

export function packageJson(scripts: Record<string, string>): string {
  return JSON.stringify({ name: 'sample', version: '1.0.0', private: true, scripts }, null, 2);
}

/** What `npm audit --json` prints (npm 7+ shape), with the counts given. */
export function auditJson(counts: Partial<Record<string, number>>): string {
  const vulnerabilities = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts };
  const total = Object.values(vulnerabilities).reduce((sum, value) => sum + value, 0);
  return JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities: {},
    metadata: {
      vulnerabilities: { ...vulnerabilities, total },
      dependencies: { prod: 1, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 1 },
    },
  });
}
