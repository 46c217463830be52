/** The summary check run's output: the hidden record first (a cut can never lose it), then text. */
import type { CheckRunOutput } from '../../forge/types.js';
import { mdSha, mdText } from '../../engine/report/markdown.js';
import { encodeRecord, type ExecutionRecord } from './record.js';
import { currentWave, waveLabel } from './waves.js';

export function runningSummary(record: ExecutionRecord): CheckRunOutput {
  const count = record.tasks.length;
  const wave = waveLabel(record);
  return {
    title: `Running ${count} task${count === 1 ? '' : 's'}${record.group === 'all' ? '' : ` of group ${record.group}`}${wave ? `, ${wave.toLowerCase()}` : ''}`,
    summary: [
      encodeRecord(record),
      `Execution \`${record.execution}\` of \`${record.plan}\` on \`${record.ref}\` (${mdSha(record.sha)})${record.startedBy ? `, started by @\u200b${record.startedBy}` : ''}.`,
      ...(wave
        ? [
            `\n**${wave}**: ${currentWave(record)
              .map((id) => mdText(id, 120))
              .join(', ')}.`,
          ]
        : []),
      record.runUrl
        ? `\n[Workflow run](${record.runUrl})`
        : '\nWaiting for the workflow run to start.',
      '',
      '| Task | Agent | Title |',
      '|---|---|---|',
      ...record.tasks.map(
        (t) => `| ${mdText(t.id, 120)} | ${mdText(t.agent, 120)} | ${mdText(t.title, 120)} |`,
      ),
    ].join('\n'),
  };
}

export function finishedSummary(
  record: ExecutionRecord,
  outcome: { title: string; text: string },
): CheckRunOutput {
  return { title: outcome.title, summary: `${encodeRecord(record)}\n${outcome.text}` };
}
