/**
 * The demo's scripted agent: a stand-in for Claude Code that really edits the sample repository,
 * reports progress through PE_STATUS_FILE, and leaves its work for the engine to collect. Task 2.2
 * collides with 2.1 (a merge conflict), 2.4 passes alone but breaks 2.1's test once both are
 * merged (a bisect culprit), and 2.3 writes a failing test. Run again as a repair (PE_REPAIR), it
 * resolves 2.2's conflict and fixes 2.4's clash, and commits; it cannot decide 2.3's (does zero
 * count as a valid quantity?), so that one stays for a person.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

type Edit = { file: string; content: string | ((old: string) => string) };

const SCRIPTS: Record<string, { steps: string[]; edits: Edit[] }> = {
  '1.1': {
    steps: ['Reading src/cart.js', 'Writing applyDiscount', 'Writing discount tests'],
    edits: [
      {
        file: 'src/cart.js',
        content: (old) =>
          `${old}
const DISCOUNTS = { SAVE10: 10, SAVE20: 20 };

export function applyDiscount(cents, code) {
  const percent = DISCOUNTS[code] ?? 0;
  return Math.round(cents * (1 - percent / 100));
}
`,
      },
      {
        file: 'test/discount.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDiscount } from '../src/cart.js';

test('SAVE10 and SAVE20 take 10% and 20% off', () => {
  assert.equal(applyDiscount(1000, 'SAVE10'), 900);
  assert.equal(applyDiscount(1000, 'SAVE20'), 800);
});

test('an unknown code changes nothing', () => {
  assert.equal(applyDiscount(1000, 'BOGUS'), 1000);
});
`,
      },
    ],
  },
  '1.2': {
    steps: ['Reading src/format.js', 'Adding the currency symbol', 'Writing format tests'],
    edits: [
      {
        file: 'src/format.js',
        content: `const SYMBOLS = { USD: '$', EUR: '€' };

export function formatPrice(cents, currency = 'USD') {
  return \`\${SYMBOLS[currency] ?? ''}\${(cents / 100).toFixed(2)}\`;
}
`,
      },
      {
        file: 'test/format.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPrice } from '../src/format.js';

test('formatPrice shows the dollar sign', () => {
  assert.equal(formatPrice(250), '$2.50');
});
`,
      },
    ],
  },
  '1.3': {
    steps: ['Designing shipping rates', 'Writing src/shipping.js', 'Writing shipping tests'],
    edits: [
      {
        file: 'src/shipping.js',
        content: `export const FREE_SHIPPING_FROM_CENTS = 5000;

export function shippingCents(subtotalCents) {
  return subtotalCents >= FREE_SHIPPING_FROM_CENTS ? 0 : 499;
}
`,
      },
      {
        file: 'test/shipping.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shippingCents } from '../src/shipping.js';

test('shipping is free from $50', () => {
  assert.equal(shippingCents(5000), 0);
  assert.equal(shippingCents(4999), 499);
});
`,
      },
    ],
  },
  '2.1': {
    steps: [
      'Reading group 1 work',
      'Writing src/checkout.js',
      'Documenting the tax rate',
      'Writing checkout tests',
    ],
    edits: [
      {
        file: 'src/checkout.js',
        content: `import { applyDiscount, subtotal } from './cart.js';
import { TAX_RATE } from './config.js';
import { shippingCents } from './shipping.js';

export function checkoutTotal(items, code) {
  const discounted = applyDiscount(subtotal(items), code);
  return Math.round(discounted * (1 + TAX_RATE)) + shippingCents(discounted);
}
`,
      },
      {
        file: 'src/config.js',
        content: (old) =>
          old.replace(
            'export const TAX_RATE = 0.2;',
            'export const TAX_RATE = 0.2; // applied after discounts',
          ),
      },
      {
        file: 'test/checkout.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkoutTotal } from '../src/checkout.js';

test('total = discounted subtotal with tax, plus shipping', () => {
  assert.equal(checkoutTotal([{ priceCents: 1000, quantity: 1 }], 'SAVE10'), 1080 + 499);
});
`,
      },
    ],
  },
  '2.2': {
    steps: ['Reading src/config.js', 'Switching the currency to EUR'],
    edits: [
      {
        file: 'src/config.js',
        content: `export const CURRENCY = 'EUR';
export const TAX_RATE = 0.21;
`,
      },
    ],
  },
  '2.3': {
    steps: ['Writing src/validate.js', 'Writing validation tests'],
    edits: [
      {
        file: 'src/validate.js',
        content: `export function validateItem(item) {
  if (item.quantity < 0) throw new Error('quantity must not be negative');
  return item;
}
`,
      },
      {
        // The agent's own test expects zero to be rejected too: the code disagrees, so tests fail.
        file: 'test/validate.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateItem } from '../src/validate.js';

test('a quantity of zero is rejected', () => {
  assert.throws(() => validateItem({ priceCents: 100, quantity: 0 }));
});
`,
      },
    ],
  },
  '2.4': {
    steps: ['Reading src/shipping.js', 'Raising the rate to $5.99', 'Updating shipping tests'],
    edits: [
      { file: 'src/shipping.js', content: (old) => old.replace(': 499', ': 599') },
      { file: 'test/shipping.test.js', content: (old) => old.replace(', 499)', ', 599)') },
    ],
  },
};

/** What the agent does when handed a task back (PE_REPAIR_OF), by task id. */
const REPAIRS: Record<string, { steps: string[]; edits: Edit[] }> = {
  '2.2': {
    steps: [
      'Reading the conflict in src/config.js',
      'Keeping the euro and the documented tax rate',
    ],
    edits: [
      {
        file: 'src/config.js',
        content: `export const CURRENCY = 'EUR';
export const TAX_RATE = 0.2; // applied after discounts
`,
      },
    ],
  },
  '2.4': {
    steps: ['Reading the failing checkout test', 'Computing shipping instead of hard-coding it'],
    edits: [
      {
        file: 'test/checkout.test.js',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkoutTotal } from '../src/checkout.js';
import { shippingCents } from '../src/shipping.js';

test('total = discounted subtotal with tax, plus shipping', () => {
  assert.equal(checkoutTotal([{ priceCents: 1000, quantity: 1 }], 'SAVE10'), 1080 + shippingCents(900));
});
`,
      },
    ],
  },
};

async function report(percent: number, step: string): Promise<void> {
  const file = process.env.PE_STATUS_FILE;
  if (!file) return;
  await writeFile(
    file,
    JSON.stringify({ progress_percent: percent, current_step: step, has_error: false }),
  );
}

async function main(): Promise<number> {
  const taskId = process.env.PE_TASK_ID ?? '';
  const worktree = process.env.PE_WORKTREE ?? process.cwd();
  const stepMs = Number(process.env.DEMO_AGENT_STEP_MS ?? '600');
  const repairing = process.env.PE_REPAIR !== undefined;
  const script = repairing ? REPAIRS[taskId] : SCRIPTS[taskId];
  if (!script && repairing) {
    console.log(
      'demo repair agent: the plan rejects negative quantities, the test rejects zero too; ' +
        'which one is right is for a person to decide, so nothing is changed',
    );
    return 0;
  }
  if (!script) {
    console.error(`demo agent: no script for task ${JSON.stringify(taskId)}`);
    return 1;
  }
  console.log(`demo agent ${process.env.PE_AGENT}: ${process.env.PE_TASK_TITLE}`);
  for (const [index, step] of script.steps.entries()) {
    await report(Math.round((index / script.steps.length) * 100), step);
    console.log(step);
    await sleep(stepMs);
  }
  for (const edit of script.edits) {
    const path = join(worktree, edit.file);
    const old = await readFile(path, 'utf8').catch(() => '');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, typeof edit.content === 'string' ? edit.content : edit.content(old));
    console.log(`wrote ${edit.file}`);
  }
  if (repairing) {
    // A repair finishes the merge it was given and commits: the engine never commits markers.
    execFileSync('git', ['add', '-A'], { cwd: worktree });
    execFileSync('git', ['commit', '-q', '-m', `Repair task ${taskId}: ${script.steps.at(-1)}`], {
      cwd: worktree,
    });
    console.log('committed the repair');
    await report(100, 'Done');
    return 0;
  }
  await writeFile(
    join(worktree, 'TASK_SUMMARY.md'),
    `# Task ${taskId}\n\n${script.steps.join('; ')}.\n`,
  );
  await report(100, 'Done');
  return 0;
}

process.exitCode = await main();
