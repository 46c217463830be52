import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  createProcessTree,
  isProcessAlive,
  terminateTree,
  type ProcessTree,
} from '../../src/engine/agents/process-group.js';

describe("stopping an agent's process tree", () => {
  it('an agent that left nothing running is done at once: its groups are probed, /proc is not read', async () => {
    const calls: string[] = [];
    const tree: ProcessTree = {
      refresh: () => void calls.push('refresh'),
      signal: () => (calls.push('signal'), false),
      isAlive: () => (calls.push('isAlive'), false),
      anyGroupLeft: () => (calls.push('anyGroupLeft'), false),
      waitForExit: async () => (calls.push('waitForExit'), true),
      groups: () => [],
    };
    await terminateTree(tree, 1_000, 1_000);
    expect(calls).toEqual(['anyGroupLeft']);
  });

  it('what an agent left running in its group, and in a group of its own it started, is stopped', async () => {
    // The agent starts a sleep in its group and one under setsid, then waits.
    const agent = spawn('sh', ['-c', 'sleep 30 & setsid sleep 31 & echo ready; wait'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = once(agent, 'exit');
    await once(agent.stdout!, 'data');
    const tree = createProcessTree(agent.pid!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    tree.refresh();
    const groups = tree.groups();
    expect(groups.length).toBe(2);
    expect(tree.anyGroupLeft()).toBe(true);

    await terminateTree(tree, 500, 5_000);
    // Nothing of it runs (the killed may linger as zombies until pid 1 reaps them).
    await exited;
    expect(tree.isAlive()).toBe(false);
    expect(isProcessAlive(agent.pid!)).toBe(false);
  });
});
