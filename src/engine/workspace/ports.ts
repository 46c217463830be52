import { createServer } from 'node:net';
import { agentsOf } from '../plan/agent-names.js';

/**
 * One port range per agent (dev servers, databases in tests), so agents running side by side
 * never fight over a port. Agents are keyed case-insensitively, in order of first appearance.
 */
export function assignPorts(
  taskAgents: ReadonlyArray<readonly string[]>,
  base: number,
  perAgent: number,
): Map<string, number> {
  const agents = agentsOf(taskAgents.map((agents) => ({ agents })));
  const ports = new Map<string, number>();
  agents.forEach((agent, index) => ports.set(agent, base + index * perAgent));
  ports.set('all', base + agents.length * perAgent);
  return ports;
}

/** The first port of the lead agent's range. */
export function portFor(ports: Map<string, number>, leadAgent: string, base: number): number {
  return ports.get(leadAgent.trim().toLowerCase()) ?? base;
}

/** Whether something already listens on the port on loopback. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(false));
    });
  });
}
