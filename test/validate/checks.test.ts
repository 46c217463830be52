import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config/load.js';
import { CHECKS } from '../../src/engine/validate/checks.js';
import { detectChecks } from '../../src/engine/validate/detect.js';
import { CheckName } from '../../src/engine/validate/schema.js';
import { validateTask } from '../../src/engine/validate/validate-task.js';
import { childEnv, packageJson, tempDir, validationConfig, writeFiles } from './helpers.js';

// The checks are one table (src/engine/validate/checks.ts); the config keys, the detection from
// package.json and Makefile, the output files and the report all follow it.

describe('validation checks table', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (work = await tempDir('checks')));
  afterEach(() => work.remove());

  it('has one entry per check name, each with its own output file', () => {
    expect(Object.keys(CHECKS)).toEqual(CheckName.options);
    const files = Object.values(CHECKS).map((check) => check.outputFile);
    expect(new Set(files).size).toBe(files.length);
  });

  it('is what the config accepts under validation:, and nothing else', () => {
    const yaml = CheckName.options.map((name) => `  ${name}: echo ${name}`).join('\n');
    const config = parseConfig(`validation:\n${yaml}\n`, 'pe.yml');
    for (const name of CheckName.options) expect(config.validation[name]).toBe(`echo ${name}`);
    expect(() => parseConfig('validation:\n  typecheck: tsc\n', 'pe.yml')).toThrow(
      /pe\.yml:2.*"validation\.typecheck"/,
    );
  });

  it.each(Object.entries(CHECKS).filter(([, check]) => check.scripts.length > 0))(
    '%s is found from its package.json script and its Makefile target',
    async (name, check) => {
      const script = check.scripts.at(-1)!;
      await writeFiles(join(work.path, 'js'), { 'package.json': packageJson({ [script]: 'x' }) });
      const fromJs = (await detectChecks(join(work.path, 'js'), validationConfig())).find(
        (found) => found.name === name,
      );
      expect(fromJs?.note).toBe(`package.json script "${script}"`);
      if (check.makeTarget === null) return;
      await writeFiles(join(work.path, 'make'), { Makefile: `${check.makeTarget}:\n\ttrue\n` });
      const fromMake = (await detectChecks(join(work.path, 'make'), validationConfig())).find(
        (found) => found.name === name,
      );
      expect(fromMake?.command).toBe(`make ${check.makeTarget}`);
    },
  );

  it("writes each check's output to its file and its seed fields into the report", async () => {
    const worktree = join(work.path, 'wt');
    await writeFiles(worktree, {});
    const outputDir = join(work.path, 'out');
    const commands = Object.fromEntries(
      CheckName.options.map((name) => [name, `echo ran-${name}`]),
    );
    const report = await validateTask({
      worktree,
      taskId: '1',
      agent: 'builder-1',
      outputDir,
      config: validationConfig(commands),
      env: childEnv(),
    });
    for (const [name, check] of Object.entries(CHECKS)) {
      expect(await readFile(join(outputDir, check.outputFile), 'utf8')).toBe(`ran-${name}\n`);
    }
    expect(report.validations['tests']).toHaveProperty('coverage', null);
    expect(report.validations['coverage']).toHaveProperty('percent', null);
    expect(report.validations['security']).toHaveProperty('critical_vulnerabilities', null);
  });
});
