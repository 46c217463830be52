import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The engine is shell-agnostic; the lint rule is what keeps it so. Prove the rule bites.
describe('engine boundary lint rule', () => {
  const eslint = new ESLint({ cwd: process.cwd() });

  async function messagesFor(code: string, file: string) {
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? []).map((m) => m.ruleId);
  }

  it('rejects process.env, probot and @actions imports inside src/engine', async () => {
    const code = [
      "import { Probot } from 'probot';",
      "import * as core from '@actions/core';",
      'export const x = [Probot, core, process.env.HOME];',
    ].join('\n');
    const rules = await messagesFor(code, 'src/engine/plan/bad.ts');
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(2);
    expect(rules).toContain('no-restricted-properties');
  });

  it('allows the same code in a shell', async () => {
    const code =
      "import * as core from '@actions/core';\nexport const x = [core, process.env.HOME];\n";
    const rules = await messagesFor(code, 'src/action/ok.ts');
    expect(rules).not.toContain('no-restricted-imports');
    expect(rules).not.toContain('no-restricted-properties');
  });
});
