import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { Plan, type TaskStatus } from '../../src/engine/plan/schema.js';
import { validatePlan } from '../../src/engine/plan/validate.js';
import { writeBack, type TaskOutcome } from '../../src/engine/plan/write-back.js';
import { computeWaves } from '../../src/engine/schedule/graph.js';
import { readSharedPlan, sharedPlansDir } from './helpers.js';

/** Parsing anything gives a schema-valid plan, or says why not; nothing downstream throws. */
function expectSound(text: string): void {
  const { plan, diagnostics } = parsePlan(text);
  const valid = Plan.safeParse(plan).success;
  expect(valid || diagnostics.length > 0).toBe(true);
  const lines = text.split('\n').length;
  for (const task of plan.tasks) {
    expect(task.line).toBeGreaterThanOrEqual(1);
    expect(task.line).toBeLessThanOrEqual(lines);
  }
  const generated = plan.tasks.filter((task) => task.idGenerated).map((task) => task.id);
  expect(new Set(generated).size).toBe(generated.length);
  validatePlan(plan);
  computeWaves(plan.tasks);
}

const word = fc.stringMatching(/^[A-Za-z][a-z]{0,8}$/);
const roleAgent = fc.constantFrom(
  'Builder-1',
  'Builder-2',
  'Validator-1',
  'Architect-1',
  'All',
  'DevOps-1',
);
const agent = fc.oneof(
  fc.constantFrom('Builder-1', 'Builder-2', 'Validator-1', 'Architect-1', 'All', 'DevOps-1'),
  word,
);
const id = fc.oneof(
  fc.tuple(fc.nat(9), fc.nat(9)).map(([a, b]) => `${a}.${b}`),
  fc.nat(30).map((n) => `T${n}`),
  fc.nat(30).map((n) => `T-${String(n).padStart(3, '0')}`),
);
const estimate = fc.constantFrom('6h', '30min', '1.5h', '2d', '90 minutes', '');
const deps = fc.oneof(
  fc.constantFrom(
    'None',
    '—',
    '-',
    'All above',
    'all previous',
    'Group 1 complete',
    'T1-T9',
    'T-03 – T-07',
  ),
  fc.array(id, { maxLength: 3 }).map((ids) => ids.join(', ')),
  fc.string({ maxLength: 12 }),
);
const status = fc.constantFrom(
  'Not Started',
  '✅ Completed',
  '`done`',
  'ready',
  '⏳',
  '❌',
  'In Progress',
  'weird',
);
const mark = fc.constantFrom(
  '',
  ' ✅ 1h 32min',
  ' ⚠️ 1h 41min (warnings)',
  ' ❌ failed',
  ' ⏭️ Moved to Group 3',
);
const text = fc.string({ unit: 'grapheme', maxLength: 30 });

const taskLine = fc
  .tuple(
    fc.constantFrom('- [ ] ', '- [x] ', '- ', '* ', '1. '),
    fc.constantFrom('Task ', ''),
    id,
    text,
    agent,
    estimate,
    mark,
  )
  .map(
    ([bullet, prefix, taskId, title, who, est, tail]) =>
      `${bullet}${prefix}${taskId}: ${title.replace(/\n/g, ' ') || 'x'} (${who}${est ? `, ${est}` : ''})${tail}`,
  );
const heading = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.constantFrom('Parallel Group ', 'Phase ', 'Wave ', 'Task: ', 'TASK_00', ''),
    fc.nat(5),
    text,
  )
  .map(
    ([depth, kind, n, title]) => `${'#'.repeat(depth)} ${kind}${n}: ${title.replace(/\n/g, ' ')}`,
  );
const field = fc
  .tuple(
    fc.constantFrom(
      'Agent',
      'Assigned To',
      'Status',
      'Dependencies',
      'Files',
      'Success Criteria',
      'Duration',
      'Priority',
    ),
    fc.oneof(agent, deps, status, text),
  )
  .map(([label, value]) => `**${label}**: ${value.replace(/\n/g, ' ')}`);
const table = fc
  .tuple(
    fc.shuffledSubarray(
      [
        'Task ID',
        'Task',
        'Agent',
        'Parallel Group',
        'Status',
        'Dependencies',
        'Estimate',
        'Branch',
        'Files',
        'Lane',
      ],
      { minLength: 1 },
    ),
    fc.array(fc.tuple(id, text, agent, status, deps, estimate), { maxLength: 6 }),
  )
  .map(([headers, rows]) => {
    const cell = (header: string, row: (typeof rows)[number]) => {
      const [taskId, title, who, state, dep, est] = row;
      const value = {
        'Task ID': taskId,
        Task: title,
        Agent: who,
        Status: state,
        Dependencies: dep,
        Estimate: est,
        Lane: `${taskId} \`feat/x\``,
      }[header];
      return (value ?? title).replace(/[|\n]/g, ' ');
    };
    return [
      `| ${headers.join(' | ')} |`,
      `|${headers.map(() => '---').join('|')}|`,
      ...rows.map((row) => `| ${headers.map((header) => cell(header, row)).join(' | ')} |`),
    ].join('\n');
  });
const fence = taskLine.map((line) => `\`\`\`markdown\n${line}\n\`\`\``);
const quote = taskLine.map((line) => `> ${line}`);
const comment = taskLine.map((line) => `<!-- ${line} -->`);
const block = fc.oneof(
  taskLine,
  heading,
  field,
  table,
  fence,
  quote,
  comment,
  text,
  fc.constant(''),
  fc.constant('---'),
);
const planText = fc.array(block, { maxLength: 30 }).map((blocks) => blocks.join('\n'));

const corpus = readdirSync(sharedPlansDir())
  .filter((name) => name.endsWith('.md'))
  .map((name) => readSharedPlan(name));

describe('property: the parser never crashes', () => {
  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), expectSound), {
      numRuns: 150,
    });
  });

  it('on generated plans mixing every dialect, fences, quotes and comments', () => {
    fc.assert(fc.property(planText, expectSound), { numRuns: 200 });
  });

  it('on mutated real plans (cuts, insertions, duplicated and swapped lines)', () => {
    const mutation = fc.tuple(
      fc.nat(corpus.length - 1),
      fc.array(
        fc.tuple(
          fc.constantFrom('cut', 'insert', 'duplicate', 'swap'),
          fc.nat(),
          fc.nat(),
          fc.string({ maxLength: 20 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    );
    fc.assert(
      fc.property(mutation, ([index, edits]) => {
        let lines = corpus[index]!.split('\n');
        for (const [kind, a, b, insert] of edits) {
          const i = a % lines.length;
          const j = b % lines.length;
          if (kind === 'cut')
            lines = [...lines.slice(0, Math.min(i, j)), ...lines.slice(Math.max(i, j))];
          if (kind === 'insert') lines.splice(i, 0, insert);
          if (kind === 'duplicate') lines.splice(i, 0, lines[j] ?? '');
          if (kind === 'swap') [lines[i], lines[j]] = [lines[j]!, lines[i]!];
          if (lines.length === 0) lines = [''];
        }
        expectSound(lines.join('\n'));
      }),
      { numRuns: 60 },
    );
  });
});

describe('property: write-back', () => {
  const outcomes: Array<[TaskOutcome, TaskStatus]> = [
    ['completed', 'completed'],
    ['warnings', 'completed'],
    ['failed', 'failed'],
    ['skipped', 'skipped'],
    ['moved', 'skipped'],
  ];
  const seedPlan = fc
    .array(fc.tuple(fc.constantFrom('- [ ] ', '- [x] ', '- '), text, roleAgent, mark), {
      minLength: 1,
      maxLength: 8,
    })
    .map((items) =>
      [
        '# Plan',
        '',
        '## Parallel Group 1: One',
        '**Duration**: 1 day',
        '',
        ...items.map(
          ([bullet, title, who, tail], index) =>
            `${bullet}1.${index + 1}: ${title.replace(/[\n()]/g, ' ').trim() || 'x'} (${who}, 1h)${tail}`,
        ),
        '',
        '## Notes',
        'The end.',
      ].join('\n'),
    );

  it('is idempotent, keeps the line count but for report lines, and reads back as written', () => {
    fc.assert(
      fc.property(
        seedPlan,
        fc.array(fc.nat(outcomes.length - 1), { maxLength: 8 }),
        fc.nat(90),
        (textValue, picks, minutes) => {
          const { plan } = parsePlan(textValue);
          const update = {
            tasks: plan.tasks.slice(0, picks.length).map((task, index) => ({
              id: task.id,
              outcome: outcomes[picks[index]!]![0],
              actualMs: minutes * 60_000,
            })),
            groups: [{ id: '1', completed: true, actualMs: minutes * 60_000 }],
            reportPath: 'reports/x.md',
          };
          const once = writeBack(textValue, plan, update);
          expect(writeBack(once, parsePlan(once).plan, update)).toBe(once);
          expect(once.split('\n').length).toBe(textValue.split('\n').length + 2);
          const after = parsePlan(once).plan;
          update.tasks.forEach((item, index) => {
            expect(after.tasks[index]!.status).toBe(outcomes[picks[index]!]![1]);
            expect(after.tasks[index]!.id).toBe(item.id);
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
