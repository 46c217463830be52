/**
 * What a bold field label (`**Assigned To:**`) or a table header (`Depends On`) means. Plans are
 * written by people in several languages; matching is on the whole normalised label, never on a
 * substring, so "Skill Dependencies" or "第一批可执行任务" are not mistaken for known columns.
 */
export type FieldKey =
  | 'id'
  | 'title'
  | 'agent'
  | 'group'
  | 'dependencies'
  | 'status'
  | 'branch'
  | 'worktree'
  | 'estimate'
  | 'files'
  | 'priority'
  | 'criteria'
  | 'details'
  | 'duration'
  | 'agents'
  | 'report'
  | 'actual';

const SYNONYMS: Record<FieldKey, string[]> = {
  id: ['task id', 'id', '#', 'task #', 'task no', 'no', 'key', 'ref', '编号', '任务id', '任务编号'],
  title: [
    'task',
    'title',
    'task description',
    'description',
    'scope',
    'task name',
    'summary',
    'work item',
    'deliverable',
    'tarefa',
    'descrição',
    '任务',
    '任务名称',
    '方向',
    '标题',
  ],
  agent: [
    'agent',
    'agent role',
    'agent name',
    'agent id',
    'agent/skills',
    'agent/skill',
    'agent role/skills',
    'owner',
    'assigned to',
    'assignee',
    'responsible',
    'atribuído a',
    'atribuido a',
    'responsável',
    'responsavel',
    'asignado a',
    'responsable',
    'agente',
    '负责人',
    '执行者',
  ],
  group: [
    'parallel group',
    'group',
    'wave',
    'batch',
    'lane',
    'phase',
    'stage',
    'grupo',
    'fase',
    '批次',
    '阶段',
    '分组',
    '并行组',
  ],
  dependencies: [
    'dependencies',
    'dependency',
    'depends on',
    'depends',
    'deps',
    'blocked by',
    'requires',
    'prerequisites',
    'dependências',
    'dependencias',
    'depende de',
    '依赖',
    '前置',
  ],
  status: ['status', 'state', 'estado', 'situação', '状态'],
  branch: ['branch', 'git branch', '分支'],
  worktree: ['worktree', 'worktree path', 'workspace', '工作树'],
  estimate: [
    'estimate',
    'est',
    'eta',
    'effort',
    'estimated time',
    'estimated effort',
    'time estimate',
    'estimativa',
    'estimación',
    '预估',
    '估时',
    '工时',
  ],
  files: ['files', 'file', 'owned files', 'files owned', 'arquivos', 'archivos', '文件'],
  priority: ['priority', 'prioridade', 'prioridad', '优先级'],
  criteria: [
    'success criteria',
    'success',
    'acceptance criteria',
    'acceptance',
    'done when',
    'definition of done',
    'deliverables',
    'critérios de sucesso',
    'critérios de aceitação',
    'criterios de éxito',
    '验收标准',
    '成功标准',
  ],
  details: ['details', 'notes', 'observações', 'descripción', '描述', 'purpose', 'focus'],
  duration: ['duration', 'duração', 'duración', '工期'],
  agents: ['agents', 'agentes', 'team'],
  report: ['execution report', 'report'],
  actual: ['actual', 'actual time', 'actual duration'],
};

const BY_LABEL = new Map<string, FieldKey>();
for (const [key, labels] of Object.entries(SYNONYMS) as Array<[FieldKey, string[]]>) {
  for (const label of labels) BY_LABEL.set(label, key);
}

/** Lower case, no Markdown emphasis, emoji, trailing colon or padding around slashes. */
export function normaliseLabel(label: string): string {
  return label
    .toLowerCase()
    .replace(/[*_`]/g, '')
    .replace(/\p{Extended_Pictographic}|\uFE0F/gu, '')
    .replace(/\s*\/\s*/g, '/')
    .replace(/[:：.]+\s*$/u, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function labelKey(label: string): FieldKey | null {
  return BY_LABEL.get(normaliseLabel(label)) ?? null;
}

/**
 * Labels that, under a heading that starts with an id (`#### 1A. …`), make it a task of its own.
 * Status alone does not: execution reports have `### builder-1: …` sections with a status.
 */
export const TASK_FIELD_KEYS: ReadonlySet<FieldKey> = new Set([
  'agent',
  'files',
  'dependencies',
  'estimate',
]);
