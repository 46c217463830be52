import type { ExecutionState, TaskRun } from '../state/schema.js';
import { singleLine, truncate } from './markdown.js';
import { orderedTasks, taskOutcome, type TaskOutcome } from './outcome.js';

/**
 * The tasks as a Mermaid gantt chart (GitHub renders ```mermaid blocks): one section per agent,
 * one bar per task that started. Times are written in UTC with milliseconds, so second-long demo
 * tasks show as well as hour-long ones.
 */
export function renderGantt(state: ExecutionState, now?: Date): string[] {
  const bars = orderedTasks(state).flatMap((task, index) => {
    const bar = taskBar(task, index, state, now);
    return bar === null ? [] : [bar];
  });
  if (bars.length === 0) return [];
  const lines = [
    '```mermaid',
    'gantt',
    '    title Task timeline (UTC)',
    '    dateFormat YYYY-MM-DD HH:mm:ss.SSS',
    '    axisFormat %H:%M:%S',
    '    todayMarker off',
  ];
  const sections = new Map<string, string[]>();
  for (const bar of bars) {
    const section = sections.get(bar.section) ?? [];
    section.push(bar.line);
    sections.set(bar.section, section);
  }
  for (const [section, sectionLines] of sections) {
    lines.push(`    section ${section}`, ...sectionLines);
  }
  lines.push('```');
  return lines;
}

interface Bar {
  section: string;
  line: string;
}

const TAGS: Record<TaskOutcome, string> = {
  COMPLETE: 'done, ',
  COMPLETE_WITH_WARNINGS: 'done, ',
  NO_CHANGES: 'done, ',
  DROPPED: 'crit, ',
  FAILED: 'crit, ',
  CANCELLED: 'crit, ',
  RUNNING: 'active, ',
  PENDING: '',
  NOT_STARTED: '',
  SKIPPED: '',
};

const MARKS: Record<TaskOutcome, string> = {
  COMPLETE: '✅',
  COMPLETE_WITH_WARNINGS: '⚠️',
  NO_CHANGES: '⚠️',
  DROPPED: '🚫',
  FAILED: '❌',
  CANCELLED: '⏹️',
  RUNNING: '🔄',
  PENDING: '⏳',
  NOT_STARTED: '⏸️',
  SKIPPED: '⏭️',
};

function taskBar(task: TaskRun, index: number, state: ExecutionState, now?: Date): Bar | null {
  if (task.started_at === null) return null;
  const start = Date.parse(task.started_at);
  if (Number.isNaN(start)) return null;
  const end = barEnd(task, state, now);
  const outcome = taskOutcome(task, state.integration);
  // The mark comes first so no task text can start a line with a gantt keyword
  // (`section`, `click`, `title`, a date...), whatever the plan called the task.
  const name = `${MARKS[outcome]} ${mermaidText(`${task.task_id} ${task.task}`, 60)}`;
  // An end that is not a date (a state written by hand, or by agent-written tests) ends the bar
  // where it starts.
  const finish = end === null || Number.isNaN(end) ? start : Math.max(start, end);
  return {
    section: mermaidText(task.agent, 40) || 'agent',
    line: `    ${name} :${TAGS[outcome]}t${index + 1}, ${mermaidDate(start)}, ${mermaidDate(finish)}`,
  };
}

/** A running task's bar reaches `now`, else the last moment the state knows about. */
function barEnd(task: TaskRun, state: ExecutionState, now?: Date): number | null {
  if (task.finished_at !== null) return Date.parse(task.finished_at);
  if (now !== undefined) return now.getTime();
  if (state.finished_at !== null) return Date.parse(state.finished_at);
  return null;
}

/**
 * Text Mermaid's gantt lexer reads as plain text: no `:` (ends the name), `;` and newlines (end
 * the statement), `#` and `%` (comments, directives), no HTML, backticks or quotes.
 */
export function mermaidText(text: string, max: number): string {
  const cleaned = singleLine(text)
    .replace(/[#:;%`<>{}"\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return truncate(cleaned, max);
}

function mermaidDate(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
