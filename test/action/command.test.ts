import { describe, expect, it } from 'vitest';
import { parseRunCommand } from '../../src/action/command.js';

describe('/parallel-run command', () => {
  it.each([
    ['/parallel-run', { kind: 'run', group: null, dryRun: false }],
    ['/parallel-run all --dry-run', { kind: 'run', group: null, dryRun: true }],
    ['/parallel-run 2', { kind: 'run', group: '2', dryRun: false }],
    ['/parallel-run group A --dry-run', { kind: 'run', group: 'A', dryRun: true }],
    ['  /parallel-run status\nthanks!', { kind: 'status' }],
    ['/parallel-run retry 1.2', { kind: 'retry', task: '1.2' }],
    ['/parallel-run help', { kind: 'help' }],
  ])('reads %j', (body, expected) => {
    expect(parseRunCommand(body)).toEqual(expected);
  });

  it('ignores comments that do not start with the command, and quoted commands further down', () => {
    expect(parseRunCommand('please /parallel-run')).toBeNull();
    expect(parseRunCommand('LGTM\n/parallel-run')).toBeNull();
    expect(parseRunCommand('/parallel-runner')).toBeNull();
  });

  it('calls garbage garbage', () => {
    expect(parseRunCommand('/parallel-run 1 2 3')).toMatchObject({ kind: 'invalid' });
    expect(parseRunCommand('/parallel-run retry')).toMatchObject({ kind: 'invalid' });
  });
});
