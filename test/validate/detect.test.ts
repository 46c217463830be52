import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeChecks, detectChecks } from '../../src/engine/validate/detect.js';
import { packageJson, tempDir, validationConfig, writeFiles } from './helpers.js';

describe('detectChecks', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir('detect')));
  afterEach(() => dir.remove());

  it('finds package.json scripts and npm audit when a lockfile exists', async () => {
    await writeFiles(dir.path, {
      'package.json': packageJson({
        lint: 'eslint .',
        test: 'vitest run',
        'test:coverage': 'vitest run --coverage',
        coverage: 'c8 npm test',
        build: 'tsc',
      }),
      'package-lock.json': '{}',
    });
    const checks = await detectChecks(dir.path, validationConfig());
    expect(checks.map((check) => [check.name, check.command, check.critical])).toEqual([
      ['lint', 'npm run lint', false],
      ['tests', 'npm test', true],
      // test:coverage is preferred over coverage
      ['coverage', 'npm run test:coverage', false],
      ['security', 'npm audit --json', false],
      ['build', 'npm run build', true],
    ]);
    expect(checks[0]!.note).toBe('package.json script "lint"');
    expect(describeChecks(checks)).toEqual([
      'lint: npm run lint (package.json script "lint")',
      'tests: npm test (package.json script "test", critical)',
      'coverage: npm run test:coverage (package.json script "test:coverage")',
      'security: npm audit --json (package-lock.json found: npm audit --json)',
      'build: npm run build (package.json script "build", critical)',
    ]);
  });

  it('says why each missing check is skipped', async () => {
    await writeFiles(dir.path, {
      'package.json': packageJson({ test: 'echo "Error: no test specified" && exit 1' }),
    });
    const notes = Object.fromEntries(
      (await detectChecks(dir.path, validationConfig())).map((check) => [check.name, check]),
    );
    expect(notes['lint']).toMatchObject({
      command: null,
      note: 'skipped: no "lint" script in package.json',
    });
    expect(notes['tests']).toMatchObject({
      command: null,
      note: 'skipped: package.json "test" is the npm init placeholder',
    });
    expect(notes['coverage']!.note).toBe(
      'skipped: no "test:coverage" or "coverage" script in package.json',
    );
    expect(notes['security']!.note).toBe('skipped: no package-lock.json for npm audit');
  });

  it('lets the config win, and turn a check off', async () => {
    await writeFiles(dir.path, {
      'package.json': packageJson({ lint: 'eslint .', test: 'vitest run' }),
      'package-lock.json': '{}',
    });
    const config = validationConfig({
      lint: false,
      tests: 'make check',
      security: 'cat audit.json',
      critical: ['tests', 'security'],
    });
    const checks = await detectChecks(dir.path, config);
    const byName = Object.fromEntries(checks.map((check) => [check.name, check]));
    expect(byName['lint']).toMatchObject({
      command: null,
      note: 'skipped: disabled in .github/parallel-executor.yml',
    });
    expect(byName['tests']).toMatchObject({ command: 'make check', critical: true });
    expect(byName['security']).toMatchObject({ command: 'cat audit.json', critical: true });
    expect(byName['build']).toMatchObject({ command: null, critical: false });
  });

  it('without package.json, skips every script check', async () => {
    const checks = await detectChecks(dir.path, validationConfig());
    expect(checks.every((check) => check.command === null)).toBe(true);
    expect(checks[0]!.note).toBe(
      'skipped: no package.json, Makefile, Cargo.toml, go.mod or Python project',
    );
    expect(checks[3]!.note).toBe('skipped: no JavaScript lockfile to audit');
  });

  it('still runs the npm commands on a broken package.json, so they fail visibly', async () => {
    await writeFiles(dir.path, { 'package.json': '{ "scripts": ' });
    const checks = await detectChecks(dir.path, validationConfig());
    expect(checks.find((check) => check.name === 'tests')).toMatchObject({
      command: 'npm test',
      note: 'package.json is not valid JSON',
    });
  });
});
