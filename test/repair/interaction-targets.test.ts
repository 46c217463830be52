import { describe, expect, it } from 'vitest';
import type { IntegrationResult } from '../../src/engine/integrate/schema.js';
import { interactionTargets } from '../../src/engine/repair/targets.js';
import { reportFixture } from '../report/fixture.js';

function integration(
  merged: string[],
  risks: NonNullable<IntegrationResult['risks']>,
): IntegrationResult {
  return { ...reportFixture().integration!, merged, risks };
}

describe('interaction repair targets', () => {
  it('name the later-merged task of each pair, one per task, and skip pairs not both merged', () => {
    const targets = interactionTargets(
      integration(
        ['c', 'a', 'b'],
        [
          {
            tasks: ['a', 'b'],
            files: ['lib.ts'],
            symbols: ['fmt'],
            reason: 'a changes fmt; b uses it',
          },
          {
            tasks: ['b', 'c'],
            files: ['lib.ts', 'x.ts'],
            symbols: ['fmt', 'X'],
            reason: 'both change X',
          },
          { tasks: ['a', 'd'], files: ['y.ts'], symbols: ['Y'], reason: 'd was not merged' },
          { tasks: ['a', 'c'], files: ['z.ts'], symbols: ['Z'], reason: 'c merged first' },
        ],
      ),
    );
    expect(targets).toEqual([
      {
        taskId: 'b',
        kind: 'interaction',
        reason: 'a changes fmt; b uses it; both change X',
        others: ['a', 'c'],
        files: ['lib.ts', 'x.ts'],
        symbols: ['fmt', 'X'],
        outputs: [],
      },
      {
        taskId: 'a',
        kind: 'interaction',
        reason: 'c merged first',
        others: ['c'],
        files: ['z.ts'],
        symbols: ['Z'],
        outputs: [],
      },
    ]);
    expect(interactionTargets(integration(['a'], []))).toEqual([]);
  });
});
