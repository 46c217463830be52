import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The engine is shell-agnostic; the lint rule is what keeps it so. Prove the rule bites.
describe('engine boundary lint rule', () => {
  const eslint = new ESLint({ cwd: process.cwd() });

  async function messagesFor(code: string, file: string) {
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? []).map((m) => m.ruleId);
  }

  it('rejects process.env, probot, @actions and src/forge imports inside src/engine', async () => {
    const code = [
      "import { Probot } from 'probot';",
      "import * as core from '@actions/core';",
      "import * as forge from '../../forge/types.js';",
      'export const x = [Probot, core, forge, process.env.HOME];',
    ].join('\n');
    const rules = await messagesFor(code, 'src/engine/plan/bad.ts');
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(3);
    expect(rules).toContain('no-restricted-properties');
  });

  it('allows the same code in a shell', async () => {
    const code =
      "import * as core from '@actions/core';\nexport const x = [core, process.env.HOME];\n";
    const rules = await messagesFor(code, 'src/action/ok.ts');
    expect(rules).not.toContain('no-restricted-imports');
    expect(rules).not.toContain('no-restricted-properties');
  });

  it('rejects a shell importing another shell, and allows the engine and the forge', async () => {
    const cases: Array<[file: string, imports: string[]]> = [
      ['src/action/agent/bad.ts', ['../../cli/run-settings.js', '../../app/workflow.js']],
      ['src/app/commands/bad.ts', ['../../cli/run-settings.js', '../../action/inputs.js']],
      ['src/cli/commands/bad.ts', ['../../action/inputs.js', '../../app/workflow.js']],
    ];
    for (const [file, imports] of cases) {
      const code = imports.map((from, i) => `import * as m${i} from '${from}';`).join('\n');
      const rules = await messagesFor(`${code}\nexport const x = [m0, m1];\n`, file);
      expect(rules, file).toEqual(['no-restricted-imports', 'no-restricted-imports']);
    }
    const allowed = [
      "import * as e from '../../engine/run/config-settings.js';",
      "import * as f from '../../forge/workflow.js';",
      "import * as own from '../modes/types.js';",
      'export const x = [e, f, own];',
    ].join('\n');
    expect(await messagesFor(allowed, 'src/action/agent/ok.ts')).toEqual([]);
  });
});
