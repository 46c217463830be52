import { describe, expect, it } from 'vitest';
import { matrixJson } from '../../src/action/select.js';
import { aTask } from './plans.js';

describe('matrixJson', () => {
  it('writes the matrix with task ids only', () => {
    expect(matrixJson([aTask('1.2', { title: 'x' }), aTask('2.1')])).toBe(
      '{"include":[{"task":"1.2"},{"task":"2.1"}]}',
    );
  });
});
