import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { shellArg } from '../engine/report/markdown.js';

/**
 * The shell command that runs the demo's scripted agent: `node <lib>/demo/agent.js` from the
 * built package, or, when running from source under tsx, `node --import <tsx> <src>/demo/agent.ts`
 * (tsx resolved here, since the agent runs in the sample repository, where tsx is not installed).
 * The command is ours, not plan text; the paths are quoted for `sh -c` all the same.
 */
export function demoAgentCommand(nodePath: string): string {
  const built = fileURLToPath(new URL('./agent.js', import.meta.url));
  if (existsSync(built)) return `${shellArg(nodePath)} ${shellArg(built)}`;
  const source = fileURLToPath(new URL('./agent.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  return `${shellArg(nodePath)} --import ${shellArg(tsx)} ${shellArg(source)}`;
}
