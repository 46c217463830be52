/** Plans the app tests read from the fake repository. */

export const VALID_PLAN = `# Plan: Widgets

## Parallel Group 1: Foundation
**Dependencies**: None

- [ ] 1.1: Build the model (Builder-1, 2h)
  - [ ] model exported
- [ ] 1.2: Build the store (Builder-2, 3h)
  - [ ] store works

## Parallel Group 2: API
**Dependencies**: Group 1 complete

- [ ] 2.1: Expose endpoints (Builder-1, 2h)
  - [ ] endpoints answer
`;

/** One group of `n` tasks, for counting requests per execution. */
export function planWithTasks(n: number): string {
  const lines = [
    '# Plan: Scale',
    '',
    '## Parallel Group 1: Everything',
    '**Dependencies**: None',
    '',
  ];
  for (let i = 1; i <= n; i++) {
    lines.push(
      `- [ ] 1.${i}: Task number ${i} (Builder-${((i - 1) % 4) + 1}, 1h)`,
      `  - [ ] part ${i} done`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `n` tasks in `waves` groups, each group depending on the one before: an execution of all of
 * them runs in `waves` waves.
 */
export function planInWaves(n: number, waves: number): string {
  const lines = ['# Plan: Waves', ''];
  const perWave = Math.ceil(n / waves);
  for (let w = 1; w <= waves; w++) {
    lines.push(
      `## Parallel Group ${w}: Step ${w}`,
      `**Dependencies**: ${w === 1 ? 'None' : `Group ${w - 1} complete`}`,
      '',
    );
    for (let i = 1; i <= perWave && (w - 1) * perWave + i <= n; i++) {
      lines.push(
        `- [ ] ${w}.${i}: Task ${w}.${i} (Builder-${((i - 1) % 4) + 1}, 1h)`,
        `  - [ ] part ${w}.${i} done`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `count` tasks that all reuse the id 1.1 after the first: one `duplicate-id` error per extra
 * task, on the line of that task (line 5 + 2·k), so annotation lines and chunking can be checked.
 */
export function planWithDuplicates(count: number): { text: string; errorLines: number[] } {
  const lines = ['# Plan: Broken', '', '## Parallel Group 1: Foundation', ''];
  const errorLines: number[] = [];
  for (let k = 0; k < count; k++) {
    lines.push(`- [ ] 1.1: Copy ${k} (Builder-1, 1h)`, `  - [ ] copy ${k} done`);
    if (k > 0) errorLines.push(lines.length - 1);
  }
  return { text: `${lines.join('\n')}\n`, errorLines };
}
