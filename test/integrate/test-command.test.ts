import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Config } from '../../src/engine/config/schema.js';
import { integrationTestCommand } from '../../src/engine/integrate/test-command.js';
import { packageJson, tempDir, writeFiles } from '../validate/helpers.js';

describe('integrationTestCommand', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir('test-command')));
  afterEach(() => dir.remove());

  it('prefers integration.testCommand, then validation.tests, then package.json', async () => {
    await writeFiles(dir.path, { 'package.json': packageJson({ test: 'vitest run' }) });
    const config = (input: Record<string, unknown>) => Config.parse(input);
    expect(await integrationTestCommand(dir.path, config({}))).toBe('npm test');
    expect(
      await integrationTestCommand(dir.path, config({ validation: { tests: 'make test' } })),
    ).toBe('make test');
    expect(
      await integrationTestCommand(
        dir.path,
        config({ validation: { tests: 'make test' }, integration: { testCommand: 'make it' } }),
      ),
    ).toBe('make it');
    expect(
      await integrationTestCommand(dir.path, config({ integration: { testCommand: false } })),
    ).toBeNull();
  });

  it('is null when nothing is configured or found', async () => {
    expect(await integrationTestCommand(dir.path, Config.parse({}))).toBeNull();
  });
});
