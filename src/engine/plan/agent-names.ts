/**
 * Agent names as a plan writes them: `Builder-1`, `Builder-1, Builder-2`, `Docs + Backend + AI`,
 * `Agent 1 (Architect)`, `Architect / \`architecture-skill\``. The name is kept as written; a
 * trailing role in parentheses and a skills list after ` / ` are not part of it.
 */
export function splitAgents(raw: string, options: { dropSkills?: boolean } = {}): string[] {
  let text = raw.replace(/[*`]/g, '').trim();
  if (options.dropSkills) text = text.split(/\s+\/\s+/u)[0] ?? '';
  if (isEmptyValue(text)) return [];
  return text
    .split(/\s*(?:,|;|\band\b|&|\+|、|，)\s*/u)
    .map((name) => cleanAgentName(name))
    .filter((name) => name !== '' && !isEmptyValue(name));
}

export function cleanAgentName(raw: string): string {
  return raw
    .replace(/\([^()]*\)/g, ' ')
    .split(/\s+[—–]\s+/u)[0]!
    .replace(/\s+/g, ' ')
    .replace(/[.:]+$/u, '')
    .trim();
}

/** `Role-N` (Builder-1, Validator-2, DevOps-1): the seed's agent ids. */
const ROLE_ID = /^[A-Za-z][\w.]*(?:[- ][A-Za-z][\w.]*)*-\d+$/u;

/** Could this parenthesised word be an agent rather than a note (`optional`, `Next-Gen P1.2`)? */
export function looksLikeAgent(name: string, known: ReadonlyMap<string, string>): boolean {
  if (ROLE_ID.test(name)) return true;
  if (/^all$/iu.test(name)) return true;
  return known.has(agentKey(name));
}

/** Case and separators do not matter when matching names (`Builder-1` = `builder_1.md`). */
export function agentKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .trim();
}

export function isEmptyValue(text: string): boolean {
  return /^(?:[-—–]+|n\/?a|none|tbd|tba|\?+|nenhuma?|ninguna?|无|暂无)?$/iu.test(text.trim());
}

/** Names compare case-insensitively: the plan writes `Builder-1` here and `builder-1` there. */
export function agentId(name: string): string {
  return name.trim().toLowerCase();
}

/** Every real agent the tasks name, by id, in order of first appearance (what `All` stands for). */
export function agentsOf(tasks: ReadonlyArray<{ agents: readonly string[] }>): string[] {
  const names = tasks.flatMap((task) => task.agents).filter((name) => agentId(name) !== 'all');
  return [...new Set(names.map(agentId))];
}
