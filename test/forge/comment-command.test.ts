import { describe, expect, it } from 'vitest';
import { parseCommentCommand } from '../../src/forge/comment-command.js';

// One grammar for the app and the action: both shells read comments with this parser.
describe('parseCommentCommand', () => {
  const run = (group: string, dryRun = false) => ({
    ok: true,
    command: { kind: 'run', group, dryRun },
  });
  it.each([
    ['/parallel-run', run('all')],
    ['/parallel-run all', run('all')],
    ['/parallel-run all --dry-run', run('all', true)],
    ['/parallel-run ALL --dry-run', run('all', true)],
    ['/parallel-run 2', run('2')],
    ['/parallel-run group A', run('A')],
    ['/parallel-run group A --dry-run', run('A', true)],
    ['/parallel-run group status', run('status')],
    ['/parallel-run --dry-run 3', run('3', true)],
    ['  /parallel-run   1  ', run('1')],
    ['Please:\r\n/parallel-run 2\r\nthanks', run('2')],
    // The first line that starts with the command counts, not only the comment's first line.
    ['LGTM\n/parallel-run', run('all')],
    ['/parallel-run status', { ok: true, command: { kind: 'status' } }],
    ['  /parallel-run status\nthanks!', { ok: true, command: { kind: 'status' } }],
    ['/parallel-run Cancel', { ok: true, command: { kind: 'cancel' } }],
    ['/parallel-run retry 1.1', { ok: true, command: { kind: 'retry', taskId: '1.1' } }],
    ['/parallel-run retry TASK_003', { ok: true, command: { kind: 'retry', taskId: 'TASK_003' } }],
    ['/parallel-run help', { ok: true, command: { kind: 'help' } }],
  ])('%j', (body, expected) => {
    expect(parseCommentCommand(body)).toEqual(expected);
  });

  it.each([
    ['hello', null],
    ['please /parallel-run', null],
    ['> /parallel-run', null],
    ['see `/parallel-run` docs', null],
    ['```\n/parallel-run\n```', null],
    ['/parallel-runner', null],
    ['/parallel-runner go', null],
  ])('is not addressed to us: %j', (body, expected) => {
    expect(parseCommentCommand(body)).toBe(expected);
  });

  it.each([
    ['/parallel-run --force', 'unknown option `--force`'],
    ['/parallel-run 1 2', 'give one group id, or `all`'],
    ['/parallel-run 1 2 3', 'give one group id, or `all`'],
    ['/parallel-run retry', '`retry` takes one task id'],
    ['/parallel-run status --dry-run', '`--dry-run` only applies to a run'],
    ['/parallel-run cancel now', '`cancel` takes no arguments'],
    ['/parallel-run $(whoami)', '`$(whoami)` is not a group id'],
    ['/parallel-run $(rm -rf ~)', 'give one group id, or `all`'],
    ['/parallel-run retry `id`', "`'id'` is not a task id"],
  ])('refuses %j', (body, error) => {
    expect(parseCommentCommand(body)).toEqual({ ok: false, error });
  });
});
