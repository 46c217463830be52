import { describe, expect, it } from 'vitest';
import { CHECK_NAME_MAX, taskCheckName } from '../../src/forge/check-names.js';

describe('taskCheckName', () => {
  it('names a task by its id, then its title, on one line', () => {
    expect(taskCheckName({ id: '1.1', title: 'Build  the\nmodel ' })).toBe(
      'Task 1.1: Build the model',
    );
    expect(taskCheckName({ id: 'T-003', title: '' })).toBe('Task T-003');
  });

  it('stays within what the Checks tab shows, and says it was cut', () => {
    const name = taskCheckName({ id: '1.1', title: 'x'.repeat(100) });
    expect(name).toHaveLength(CHECK_NAME_MAX);
    expect(name.startsWith('Task 1.1: xxx')).toBe(true);
    expect(name.endsWith('…')).toBe(true);
  });
});
