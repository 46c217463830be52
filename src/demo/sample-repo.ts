import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git } from '../engine/workspace/git-exec.js';

/**
 * The demo's sample repository: a tiny cart library with real tests, lint and build scripts, seven
 * tasks in two groups, and agent definitions. Nothing here needs `npm install`.
 */
export const SAMPLE_FILES: Record<string, string> = {
  'package.json': `${JSON.stringify(
    {
      name: 'sample-cart',
      version: '1.0.0',
      private: true,
      type: 'module',
      scripts: {
        lint: 'node scripts/lint.js',
        test: 'node --test test/*.test.js',
        build: 'node scripts/build.js',
      },
    },
    null,
    2,
  )}\n`,
  'src/cart.js': `export function subtotal(items) {
  return items.reduce((sum, item) => sum + item.priceCents * item.quantity, 0);
}
`,
  'src/format.js': `export function formatPrice(cents) {
  return (cents / 100).toFixed(2);
}
`,
  'src/config.js': `export const CURRENCY = 'USD';
export const TAX_RATE = 0.2;
`,
  'test/cart.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subtotal } from '../src/cart.js';

test('subtotal adds price times quantity', () => {
  assert.equal(subtotal([{ priceCents: 250, quantity: 2 }, { priceCents: 100, quantity: 1 }]), 600);
});
`,
  'scripts/lint.js': `// A small linter: no \`var\`, no trailing whitespace, no console.log in src/.
import { readdirSync, readFileSync } from 'node:fs';
let problems = 0;
for (const file of readdirSync('src')) {
  readFileSync(\`src/\${file}\`, 'utf8').split('\\n').forEach((line, i) => {
    const where = \`src/\${file}:\${i + 1}\`;
    if (/\\bvar\\s/.test(line)) { console.log(\`\${where} use let or const\`); problems++; }
    if (/\\s+$/.test(line)) { console.log(\`\${where} trailing whitespace\`); problems++; }
    if (/console\\.log/.test(line)) { console.log(\`\${where} console.log left in\`); problems++; }
  });
}
console.log(problems === 0 ? 'lint: clean' : \`lint: \${problems} problem(s)\`);
process.exit(problems === 0 ? 0 : 1);
`,
  'scripts/build.js': `// "Build": every module must load.
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
for (const file of readdirSync('src')) await import(pathToFileURL(\`src/\${file}\`).href);
console.log('build: ok');
`,
  '.claude/agents/builder-1.md': agentFile('builder-1', 'Implements cart features with tests.'),
  '.claude/agents/builder-2.md': agentFile(
    'builder-2',
    'Implements formatting and currency support.',
  ),
  '.claude/agents/builder-3.md': agentFile('builder-3', 'Implements shipping.'),
  '.claude/agents/validator-1.md': agentFile('validator-1', 'Hardens input validation.'),
  'MULTI_AGENT_PLAN.md': `# Multi-Agent Plan: Sample Cart

Seven tasks in two parallel groups, run by four agents.

## Parallel Group 1: Cart Basics
**Duration**: 1 day
**Dependencies**: None

- [ ] 1.1: Add discount codes to the cart (Builder-1, 2h)
  - [ ] \`applyDiscount(cents, code)\` supports SAVE10 and SAVE20
  - [ ] Unit tests cover both codes and unknown codes
- [ ] 1.2: Format prices with a currency symbol (Builder-2, 1h)
  - [ ] \`formatPrice(250)\` returns \`$2.50\`
- [ ] 1.3: Add shipping rates (Builder-3, 1.5h)
  - [ ] Free shipping from $50, otherwise $4.99

## Parallel Group 2: Checkout
**Duration**: 1 day
**Dependencies**: Group 1 complete

- [ ] 2.1: Compute the checkout total with tax (Builder-1, 3h)
  - [ ] Total = discounted subtotal + shipping + tax
- [ ] 2.2: Support euro prices (Builder-2, 1h)
  - [ ] Currency configurable, euro symbol shown
- [ ] 2.3: Validate cart input (Validator-1, 1h)
  - [ ] Negative quantities are rejected with a clear error
- [ ] 2.4: Raise the shipping rate to $5.99 (Builder-3, 0.5h)
  - [ ] Shipping under $50 costs $5.99
`,
};

function agentFile(name: string, description: string): string {
  return `---\nname: ${name}\ndescription: ${description}\ntools: Read, Write, Edit, Bash\n---\n\nYou are ${name}. ${description}\n`;
}

/** Create the sample repository with one commit on `main`; returns its path. */
export async function createSampleRepo(dir: string): Promise<string> {
  for (const [file, content] of Object.entries(SAMPLE_FILES)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), content);
  }
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['config', 'user.name', 'Demo User']);
  await git(dir, ['config', 'user.email', 'demo@example.invalid']);
  await git(dir, ['config', 'commit.gpgsign', 'false']);
  await git(dir, ['config', 'gc.auto', '0']);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'Sample cart library']);
  return dir;
}
