import type { AgentHandle, AgentLaunch, AgentOutcome, AgentRunner } from '../ports/agent-runner.js';
import type { UsageFigures } from '../state/usage.js';

/** How one repair agent run ended, and what it cost. */
export interface RepairAgentRun {
  /** Null when the agent exited 0 without reporting an error. */
  problem: string | null;
  durationMs: number;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  costUsd: number | null;
}

export interface RepairAgentLimits {
  timeoutMs: number;
  graceMs: number;
  signal?: AbortSignal;
}

/**
 * Run the task's own kind of agent on the repair worktree to its end, stopping it at the time
 * limit or on the signal. The events are only read for the usage (the repair's cost).
 */
export async function runRepairAgent(
  runner: AgentRunner,
  launch: AgentLaunch,
  limits: RepairAgentLimits,
): Promise<RepairAgentRun> {
  const started = Date.now();
  const empty = {
    inputTokens: null,
    outputTokens: null,
    cacheReadTokens: null,
    cacheCreationTokens: null,
    costUsd: null,
  };
  let handle: AgentHandle;
  try {
    handle = await runner.start(launch);
  } catch (error) {
    return {
      problem: `the agent could not start: ${(error as Error).message}`,
      durationMs: 0,
      ...empty,
    };
  }
  // An object, so the closure's writes are visible below.
  const seen: { usage: UsageFigures | null } = { usage: null };
  const follow = (async () => {
    for await (const event of handle.events) {
      if (event.type === 'usage') seen.usage = event;
    }
  })().catch(() => undefined);
  const stop = (reason: 'timeout' | 'cancelled') => {
    handle.stop(reason, limits.graceMs).catch(() => undefined);
  };
  const timer = setTimeout(() => stop('timeout'), limits.timeoutMs);
  const onAbort = () => stop('cancelled');
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  if (limits.signal?.aborted) stop('cancelled');
  let outcome: AgentOutcome;
  try {
    outcome = await handle.done;
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', onAbort);
  }
  await Promise.race([follow, new Promise((resolve) => setTimeout(resolve, 300))]);
  const cost = {
    durationMs: Date.now() - started,
    inputTokens: outcome.inputTokens ?? seen.usage?.inputTokens ?? null,
    outputTokens: outcome.outputTokens ?? seen.usage?.outputTokens ?? null,
    cacheReadTokens: outcome.cacheReadTokens ?? seen.usage?.cacheReadTokens ?? null,
    cacheCreationTokens: outcome.cacheCreationTokens ?? seen.usage?.cacheCreationTokens ?? null,
    costUsd: outcome.costUsd ?? seen.usage?.costUsd ?? null,
  };
  const stopped = outcome.stoppedBecause;
  if (stopped !== null) return { problem: `the repair agent was stopped (${stopped})`, ...cost };
  if (outcome.exitCode !== 0) {
    const how =
      outcome.exitCode === null
        ? `was killed by ${outcome.signal}`
        : `exited with ${outcome.exitCode}`;
    return { problem: `the repair agent ${how}`, ...cost };
  }
  if (outcome.agentError)
    return { problem: `the repair agent reported: ${outcome.agentError}`, ...cost };
  return { problem: null, ...cost };
}
