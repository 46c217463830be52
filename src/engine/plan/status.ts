import type { TaskStatus } from './schema.js';

/**
 * Status words people write in plans, checked in order: "Not Started" must be seen before
 * "Started", "Needs Review" before "Needs". Each pattern is matched against the whole cell or field
 * with Markdown, emoji and punctuation removed.
 */
const PHRASES: Array<[RegExp, TaskStatus]> = [
  [
    /^(not started|not yet started|not done|não iniciad[oa]|nao iniciad[oa]|no iniciad[oa]|未开始|待开始)\b/u,
    'pending',
  ],
  [
    /\b(completed?|done|finished|merged|shipped|resolved|closed|concluíd[oa]|concluid[oa]|finalizad[oa]|terminad[oa]|hecho)\b/u,
    'completed',
  ],
  [/(已完成|完成)/u, 'completed'],
  [/\b(failed|failure|error|broken|falhou|falha|fallid[oa])\b|失败/u, 'failed'],
  [
    /\b(skipped|skip|cancell?ed|won'?t do|dropped|moved|deferred|descartad[oa]|cancelad[oa])\b|跳过|取消/u,
    'skipped',
  ],
  [
    /\b(review|in review|needs review|ready for review|awaiting review|under review|pr open|em revisão|en revisión)\b|评审|审查/u,
    'review',
  ],
  [
    /\b(blocked|waiting|on hold|aguardando|bloquead[oa]|esperando|pausad[oa])\b|阻塞|等待/u,
    'blocked',
  ],
  [
    /\b(in progress|in-progress|wip|started|active|ongoing|working|doing|em progresso|em andamento|en progreso|en curso)\b|进行中/u,
    'in_progress',
  ],
  [
    /\b(pending|todo|to do|to-do|ready|planned|open|queued|new|backlog|pronto|pendente|pendiente|a fazer|por hacer)\b|待办|待处理|计划/u,
    'pending',
  ],
];

/** A leading emoji settles it, whatever words follow (`✅ Completed`, `❌ tests failed`). */
const MARKS: Array<[string, TaskStatus]> = [
  ['✅', 'completed'],
  ['✔', 'completed'],
  ['☑', 'completed'],
  ['⚠', 'completed'], // the seed's "⚠️ 1h 41min (warnings)": done, with warnings
  ['❌', 'failed'],
  ['✗', 'failed'],
  ['⏭', 'skipped'],
  ['⏳', 'in_progress'],
  ['🔄', 'in_progress'],
  ['🚧', 'in_progress'],
  ['🟡', 'in_progress'],
  ['⛔', 'blocked'],
  ['🚫', 'blocked'],
  ['🔴', 'blocked'],
  ['👀', 'review'],
  ['⬜', 'pending'],
  ['🔲', 'pending'],
];

/** Emoji that start a status mark written after a task line (`… (Builder-1, 6h) ✅ 1h 32min`). */
export const STATUS_MARK = /(?:✅|⚠️?|❌|⏭️?|⏳|🔄|🚧|⛔)/u;

/**
 * A status mark at the end of a title cell, as write-back writes it (`✅`, `✅ 1h 32min`,
 * `⚠️ 4s (warnings)`, `❌ failed (…)`, `⏭️ Moved to Group 3`) or a person does (`⏳`): the mark,
 * then nothing but a time and a parenthesis. `\s` before it; match from there to the end. A mark
 * followed by words is part of the title ("Show a ✅ next to passing builds").
 */
export const TRAILING_STATUS =
  /\s(?:(?:✅|⚠️?|⏳|🔄|🚧|⛔)(?:\s+\d[\d.]*\s*[a-z]+)*(?:\s*\(.*\))?|❌(?:\s+failed\b.*)?|⏭️?(?:\s.*)?)\s*$/u;

export function parseStatus(raw: string): TaskStatus | null {
  const text = raw.replace(/[`*_~[\]]/g, '').trim();
  if (text === '' || /^[-—–]+$/u.test(text)) return 'pending';
  for (const [mark, status] of MARKS) {
    if (text.startsWith(mark)) return status;
  }
  const words = text
    .toLowerCase()
    .replace(/\p{Extended_Pictographic}|\uFE0F/gu, ' ')
    .replace(/[()[\].,:;!/]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (words === '') return null;
  for (const [pattern, status] of PHRASES) {
    if (pattern.test(words)) return status;
  }
  for (const [mark, status] of MARKS) {
    if (text.includes(mark)) return status;
  }
  return null;
}
