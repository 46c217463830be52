import { UsageError } from '../errors.js';
import { claudeCodeKind } from './claude-code.js';
import { codexKind } from './codex.js';
import { commandKind } from './command.js';
import type { AgentKind } from './kind.js';

/** Every agent kind, by the name the config, the CLI and the Action use. */
export const AGENT_KINDS = {
  'claude-code': claudeCodeKind,
  codex: codexKind,
  command: commandKind,
} as const satisfies Record<string, AgentKind>;

export type AgentKindName = keyof typeof AGENT_KINDS;

/** The names, as a non-empty tuple so zod can make an enum of them. */
export const AGENT_KIND_NAMES = Object.keys(AGENT_KINDS) as [AgentKindName, ...AgentKindName[]];

export function isAgentKindName(name: string): name is AgentKindName {
  return Object.hasOwn(AGENT_KINDS, name);
}

/** `claude-code or command`: for messages that list the choices. */
export function agentKindChoices(): string {
  const names = [...AGENT_KIND_NAMES];
  const last = names.pop()!;
  return names.length === 0 ? last : `${names.join(', ')} or ${last}`;
}

/** `name` as a kind's name; `where` says who gave it (`--agent`, the `agent` input) for the error. */
export function agentKindName(name: string, where: string): AgentKindName {
  if (isAgentKindName(name)) return name;
  throw new UsageError(
    `${where}: "${name}" is not an agent kind`,
    `Use ${agentKindChoices()} (command runs your own agent: give it with --agent-command "<command>").`,
  );
}
