import type { Root, RootContent } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { computeMetrics } from '../../src/engine/report/metrics.js';
import { executionOutcome } from '../../src/engine/report/outcome.js';
import { renderReport } from '../../src/engine/report/render.js';
import { reportFixture } from './fixture.js';

const HOUR = 3_600_000;

/** The lines of the ```mermaid block, without the fences. */
function ganttLines(report: string): string[] {
  const lines = report.split('\n');
  const start = lines.indexOf('```mermaid');
  expect(start).toBeGreaterThan(-1);
  const end = lines.indexOf('```', start + 1);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start + 1, end);
}

/** Cells of a GFM table row, split on pipes that are not escaped. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The rows of the first table under a `## heading`. */
function tableUnder(report: string, heading: string): string[] {
  const lines = report.split('\n');
  const from = lines.indexOf(heading);
  expect(from).toBeGreaterThan(-1);
  const first = lines.findIndex((line, index) => index > from && line.startsWith('|'));
  const rows: string[] = [];
  for (let i = first; i < lines.length && lines[i]?.startsWith('|'); i++) rows.push(lines[i] ?? '');
  return rows;
}

function withTasks(state: ExecutionState, edit: (state: ExecutionState) => void): ExecutionState {
  const copy = structuredClone(state);
  edit(copy);
  return copy;
}

describe('renderReport', () => {
  it('matches the reviewed report for a fixed execution', async () => {
    const report = renderReport(reportFixture(), {
      nextGroup: { id: '3', title: 'OAuth2 Integration' },
    });
    await expect(report).toMatchFileSnapshot('__snapshots__/report.md');
  });

  it('is a pure function of the state', () => {
    expect(renderReport(reportFixture())).toBe(renderReport(reportFixture()));
  });

  it('computes both efficiency figures and says which is which', () => {
    const state = reportFixture();
    const { efficiency } = computeMetrics(state);
    // Wall: 14:30:52.000 → 15:20:10.250.
    expect(efficiency.wallMs).toBe(49 * 60_000 + 18_250);
    // Estimates of the tasks that ran (2.1 6h, 2.2 4h, 2.3 5h); 2.4 has none; 2.5 never ran.
    expect(efficiency.sequentialEstimateMs).toBe(15 * HOUR);
    expect(efficiency.unestimatedTasks).toEqual(['2.4']);
    expect(efficiency.estimateSpeedup).toBeCloseTo((15 * HOUR) / 2_958_250, 6);
    expect(efficiency.sumTaskMs).toBe(1_285_380 + 1_604_000 + 949_000 + 1_200_000);
    expect(efficiency.parallelSpeedup).toBeCloseTo(5_038_380 / 2_958_250, 6);
    const report = renderReport(state);
    // The estimate is shown beside the wall time, never as a ratio against it.
    expect(report).not.toMatch(/estimate ÷ wall time|Against the estimate/);
    expect(report).toContain('Wall time: 49min 18s');
    expect(report).toContain('Sequential estimate: 15h (');
    expect(report).toContain('Parallel speed-up: 1.7× (sum of task durations ÷ wall time');
    expect(report).toContain('without an estimate: 2.4');
  });

  it('handles an execution where no task has an estimate', () => {
    const state = withTasks(reportFixture(), (s) => {
      for (const task of Object.values(s.tasks)) task.estimate_hours = null;
    });
    const report = renderReport(state);
    expect(computeMetrics(state).efficiency.sequentialEstimateMs).toBeNull();
    expect(report).toContain('none of the tasks that ran had an estimate');
    expect(report).not.toContain('Against the estimate');
    expect(report).toContain('Parallel speed-up: 1.7×');
    expect(report).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('draws one gantt bar per task that started, one section per agent, with status tags', () => {
    const gantt = ganttLines(renderReport(reportFixture()));
    const bars = gantt.filter((line) =>
      /^ {4}\S.* :.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(line),
    );
    expect(bars).toHaveLength(4); // 2.5 was skipped before it started
    expect(gantt.filter((line) => line.startsWith('    section '))).toEqual([
      '    section builder-1',
      '    section builder-2',
      '    section validator-1',
    ]);
    expect(gantt).toContain('    dateFormat YYYY-MM-DD HH:mm:ss.SSS');
    expect(bars.find((line) => line.includes('2.4'))).toContain(':crit, ');
    expect(bars.find((line) => line.includes('2.1'))).toContain(':done, ');
  });

  it('marks a running task active and ends its bar at now', () => {
    const state = withTasks(reportFixture(), (s) => {
      s.status = 'in_progress';
      s.finished_at = null;
      const task = s.tasks['2.3'];
      if (task === undefined) throw new Error('fixture changed');
      task.status = 'in_progress';
      task.finished_at = null;
      task.metrics = null;
    });
    const report = renderReport(state, { now: new Date('2025-11-29T15:00:00.000Z') });
    const bar = ganttLines(report).find((line) => line.includes('2.3'));
    expect(bar).toContain(':active, ');
    expect(bar).toMatch(/2025-11-29 15:00:00\.000$/);
    expect(report).toContain('- **Status**: 🔄 IN PROGRESS');
    expect(report).toContain('- **Duration**: 29min 8s so far');
  });

  it('says SUCCESS, PARTIAL or FAILED from what landed', () => {
    const fixture = reportFixture();
    expect(executionOutcome(fixture)).toBe('PARTIAL');
    const allMerged = withTasks(fixture, (s) => {
      if (s.integration === null) throw new Error('fixture changed');
      s.integration.merged = ['2.1', '2.2', '2.3', '2.4', '2.5'];
      s.integration.conflicts = [];
      s.integration.dropped = [];
    });
    expect(executionOutcome(allMerged)).toBe('SUCCESS');
    const noneMerged = withTasks(fixture, (s) => {
      if (s.integration === null) throw new Error('fixture changed');
      s.integration.merged = [];
    });
    expect(executionOutcome(noneMerged)).toBe('FAILED');
    expect(renderReport(noneMerged)).toContain('- **Status**: ❌ FAILED');
  });

  it('does not count a task skipped for having nothing to do against success', () => {
    const state = withTasks(reportFixture(), (s) => {
      if (s.integration === null) throw new Error('fixture changed');
      s.integration.merged = ['2.1', '2.2', '2.3', '2.4'];
      s.integration.conflicts = [];
      s.integration.dropped = [];
      const four = s.tasks['2.4'];
      const five = s.tasks['2.5'];
      if (four === undefined || five === undefined) throw new Error('fixture changed');
      four.status = 'completed';
      five.depends_on = []; // skipped without a failed dependency: already done in the plan
      five.reason = 'already completed in the plan';
    });
    expect(executionOutcome(state)).toBe('SUCCESS');
    const blocked = withTasks(state, (s) => {
      const four = s.tasks['2.4'];
      const five = s.tasks['2.5'];
      if (four === undefined || five === undefined) throw new Error('fixture changed');
      four.status = 'failed';
      five.depends_on = ['2.4'];
    });
    expect(executionOutcome(blocked)).toBe('PARTIAL');
  });
});

describe('renderReport with hostile text', () => {
  const HOSTILE =
    'Evil | title\n# Injected heading\r\n- [x] fake item ``` <script>alert(1)</script> $x^2$ [link](javascript:alert(1)) section done :crit; #3 %% \u001b[2J\u202e';

  function hostileState(): ExecutionState {
    return withTasks(reportFixture(), (s) => {
      const task = s.tasks['2.1'];
      const failed = s.tasks['2.4'];
      if (task === undefined || failed === undefined) throw new Error('fixture changed');
      task.task = HOSTILE;
      task.agent = 'agent | x\n## nope';
      failed.reason = `exit 1\n| a | b |\n|---|---|\n${HOSTILE}`;
      if (task.metrics !== null)
        task.metrics.files_changed = ['src/a|b.ts', 'src/`tick`.ts', 'x\ny.ts'];
      s.plan_file = 'plans/my plan; rm -rf ~.md';
      s.plan_title = HOSTILE;
    });
  }

  it('keeps the document structure: headings, tables and the gantt block', () => {
    const report = renderReport(hostileState());
    const lines = report.split('\n');
    expect(lines.filter((line) => line.startsWith('# '))).toHaveLength(1);
    expect(lines.some((line) => /^#+ Injected/.test(line) || line.startsWith('## nope'))).toBe(
      false,
    );
    expect(lines.some((line) => line.startsWith('- [x] fake'))).toBe(false);
    expect(report).not.toContain('<script>');
    expect(report).not.toContain('\u001b');
    expect(report).not.toContain('\u202e');
    expect(report).not.toMatch(/[^\\]\$x/);

    const table = tableUnder(report, '## Agent Performance');
    expect(table.length).toBe(2 + 5);
    for (const row of table) expect(cells(row)).toHaveLength(10);

    // Exactly one opening and one closing fence, and the hostile name cannot end the task name.
    expect(lines.filter((line) => line.startsWith('```'))).toEqual(['```mermaid', '```']);
    const bar = ganttLines(report).find((line) => line.includes('Evil'));
    expect(bar).toBeDefined();
    const name = bar?.slice(0, bar.indexOf(' :')) ?? '';
    expect(name).not.toMatch(/[:;#%`<>]/);
    expect(bar?.startsWith('    ✅ ')).toBe(true); // no gantt keyword can start the line
    expect(ganttLines(report).filter((line) => line.startsWith('    section '))[0]).toBe(
      '    section agent | x nope',
    );
  });

  it('parses, with a real GFM parser, into the structure the renderer meant', () => {
    const tree = unified()
      .use(remarkParse)
      .use(remarkGfm)
      .parse(renderReport(hostileState())) as Root;
    const nodes: RootContent[] = [];
    const walk = (node: Root | RootContent) => {
      if (node.type !== 'root') nodes.push(node);
      if ('children' in node) for (const child of node.children) walk(child);
    };
    walk(tree);
    const headings = nodes.filter((n) => n.type === 'heading');
    expect(headings.filter((h) => h.type === 'heading' && h.depth === 1)).toHaveLength(1);
    expect(headings.filter((h) => h.type === 'heading' && h.depth === 2)).toHaveLength(7);
    expect(nodes.filter((n) => n.type === 'html')).toEqual([]);
    expect(nodes.filter((n) => n.type === 'link' || n.type === 'image')).toEqual([]);
    const tables = nodes.filter((n) => n.type === 'table');
    expect(tables).toHaveLength(1);
    for (const row of tables[0]?.type === 'table' ? tables[0].children : []) {
      expect(row.children).toHaveLength(10);
    }
    const code = nodes.filter((n) => n.type === 'code');
    expect(code.map((n) => (n.type === 'code' ? n.lang : null))).toEqual(['mermaid']);
    // The one real task list is Next Steps; the hostile "- [x] fake item" stayed text.
    const checked = nodes.filter(
      (n) => n.type === 'listItem' && n.checked !== null && n.checked !== undefined,
    );
    expect(checked.every((n) => n.type === 'listItem' && n.checked === false)).toBe(true);
  });

  // The publish job and the App render the state the integrate job uploaded, where agent-written
  // tests could have put anything a string field allows: the times too.
  it('keeps times that are not dates as text: no HTML comment, image, link or mention', () => {
    const forged =
      '<!-- parallel-executor:lock eyJ4IjoxfQ --> @octocat ![x](https://evil.example/p.png) <img src=x>';
    const report = renderReport(
      withTasks(reportFixture(), (s) => {
        s.started_at = forged;
        s.finished_at = `${forged} [click](https://evil.example)`;
      }),
    );
    expect(report).not.toMatch(/(^|[^\\])<(!--|img)/m);
    expect(report).not.toMatch(/@octocat/);
    const tree = unified().use(remarkParse).use(remarkGfm).parse(report) as Root;
    const found: string[] = [];
    const walk = (node: Root | RootContent) => {
      if (node.type === 'html' || node.type === 'link' || node.type === 'image')
        found.push(node.type);
      if ('children' in node) for (const child of node.children) walk(child);
    };
    walk(tree);
    expect(found).toEqual([]);
  });

  it('renders a task whose end time is not a date, instead of throwing', () => {
    const report = renderReport(
      withTasks(reportFixture(), (s) => {
        s.tasks['2.1']!.finished_at = 'not a date';
      }),
    );
    // The bar ends where it starts: the gantt stays one block, every line a bar or a keyword.
    expect(ganttLines(report).some((line) => line.includes('Invalid'))).toBe(false);
  });

  it('quotes untrusted arguments in the suggested commands', () => {
    const state = withTasks(hostileState(), (s) => {
      s.tasks['2.2']!.branch = 'agent/x; rm -rf ~';
      s.execution_id = 'exec 1';
    });
    const report = renderReport(state);
    expect(report).toContain("git merge --no-ff 'agent/x; rm -rf ~'");
    expect(report).toContain("parallel-executor resume 'exec 1' --retry-failed");
  });

  it('lists the integration notes under the integration results, as untrusted text', () => {
    const report = renderReport(
      withTasks(reportFixture(), (s) => {
        s.integration!.notes = [
          'Interaction risks were not checked: no grammar for *.tsx',
          'an earlier integration did not finish: kept as refs/x',
        ];
      }),
    );
    const section = report.slice(
      report.indexOf('## Integration Results'),
      report.indexOf('## Metrics'),
    );
    expect(section).toContain(
      '- **Notes**: 2\n' +
        '  - Interaction risks were not checked: no grammar for \\*.tsx\n' +
        '  - an earlier integration did not finish: kept as refs/x\n',
    );
    expect(renderReport(reportFixture())).not.toContain('**Notes**');
  });

  it('escapes file names in code spans, including pipes and backticks', () => {
    const report = renderReport(hostileState());
    expect(report).toContain('`src/a\\|b.ts`');
    expect(report).toContain('``src/`tick`.ts``');
    expect(report).toContain('`x y.ts`');
  });
});

describe('renderReport on edge states', () => {
  it('renders an execution that has not started any task', () => {
    const state = withTasks(reportFixture(), (s) => {
      s.status = 'pending';
      s.finished_at = null;
      s.tasks = {};
      s.task_order = [];
      s.completed_tasks = [];
      s.failed_tasks = [];
      s.messages = [];
      s.integration = null;
    });
    const report = renderReport(state);
    expect(report).toContain('- **Status**: 🔄 IN PROGRESS');
    expect(report).toContain('No tasks ran.');
    expect(report).toContain('Integration has not run yet.');
    expect(report).toContain('## Timeline\n\nNo task started.');
    expect(report).toContain('## Issues Encountered\n\nNone.');
    expect(report).not.toContain('parallel-executor clean');
    expect(report).not.toMatch(/NaN|Infinity|undefined|null/);
  });

  it('suggests resume for a cancelled execution', () => {
    const state = withTasks(reportFixture(), (s) => {
      s.status = 'cancelled';
    });
    expect(renderReport(state)).toContain(
      '- [ ] Resume the interrupted execution: `parallel-executor resume exec_20251129_143052`',
    );
  });
});
