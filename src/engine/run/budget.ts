import { UsageError } from '../errors.js';
import { formatCost, formatCount, formatDuration } from '../format.js';
import { taskUsage, usageTokens } from '../report/usage.js';
import type { ExecutionState } from '../state/schema.js';
import { parseDurationMs } from './duration.js';
import type { BudgetLimits } from './settings.js';

/**
 * A budget for a whole run: dollars, tokens (every token the model read or wrote, cache reads
 * included) and wall time since the run (or resume) started. Once a limit is reached no new task
 * starts; past it by more than the margin, running agents are stopped. Without a margin they finish.
 */

/** As the config file and the flags give it. */
export interface BudgetInput {
  usd?: number | string | undefined;
  tokens?: number | string | undefined;
  duration?: string | undefined;
  margin?: number | string | undefined;
}

/**
 * The limits in `input` over `base` (a resumed execution's own): a field given wins. Null when
 * no limit is set. `where(key)` names the config key or flag in errors.
 */
export function budgetLimits(
  input: BudgetInput,
  where: (key: keyof BudgetInput) => string,
  base: BudgetLimits | null = null,
): BudgetLimits | null {
  const limits: BudgetLimits = {
    usd: input.usd === undefined ? (base?.usd ?? null) : positive(input.usd, where('usd')),
    tokens:
      input.tokens === undefined
        ? (base?.tokens ?? null)
        : Math.round(positive(input.tokens, where('tokens'))),
    durationMs:
      input.duration === undefined
        ? (base?.durationMs ?? null)
        : parseDurationMs(input.duration, where('duration')),
    marginPercent:
      input.margin === undefined
        ? (base?.marginPercent ?? null)
        : percent(input.margin, where('margin')),
  };
  const any = limits.usd !== null || limits.tokens !== null || limits.durationMs !== null;
  return any ? limits : null;
}

function positive(value: number | string, what: string): number {
  const number = typeof value === 'number' ? value : Number(value.trim().replace(/^\$/, ''));
  if (
    !Number.isFinite(number) ||
    number <= 0 ||
    (typeof value === 'string' && value.trim() === '')
  ) {
    throw new UsageError(
      `${what}: "${value}" is not a positive number`,
      'For example 2.5 (dollars) or 200000 (tokens).',
    );
  }
  return number;
}

function percent(value: number | string, what: string): number {
  const text = typeof value === 'number' ? String(value) : value.trim().replace(/%$/, '').trim();
  const number = Number(text);
  if (text === '' || !Number.isFinite(number) || number < 0) {
    throw new UsageError(
      `${what}: "${value}" is not a percentage`,
      'Write it like 10% (0% stops agents as soon as the budget is passed).',
    );
  }
  return number;
}

export interface Spent {
  usd: number;
  tokens: number;
  durationMs: number;
}

/** What every task's agents spent so far in the execution (all runs of it), running ones too. */
export function tasksSpent(state: ExecutionState): { usd: number; tokens: number } {
  let usd = 0;
  let tokens = 0;
  for (const run of Object.values(state.tasks)) {
    const usage = taskUsage(run);
    if (usage === null) continue;
    usd += usage.costUsd ?? 0;
    tokens += usageTokens(usage);
  }
  return { usd, tokens };
}

/**
 * `tokens: 1,200 of 1,000`, for each limit reached (`margin` null) or passed by more than `margin`
 * percent, the worst first.
 */
export function overLimits(limits: BudgetLimits, spent: Spent, margin: number | null): string[] {
  const rows: Array<[number, string]> = [];
  const check = (limit: number | null, used: number, text: (n: number) => string, name: string) => {
    if (limit === null) return;
    if (margin === null ? used < limit : used <= limit * (1 + margin / 100)) return;
    rows.push([used / limit, `${name}: ${text(used)} of ${text(limit)}`]);
  };
  check(limits.usd, spent.usd, formatCost, 'usd');
  check(limits.tokens, spent.tokens, formatCount, 'tokens');
  check(limits.durationMs, spent.durationMs, formatDuration, 'duration');
  return rows.sort((a, b) => b[0] - a[0]).map(([, text]) => text);
}

export const BUDGET_RESUME_HINT =
  'resume with `parallel-executor resume` (a fresh budget, or --budget-usd/--budget-tokens/--budget-duration)';

/** What the loop and the attempts ask of the budget while the execution runs. */
export interface BudgetWatch {
  /** False once a limit is reached: no new task starts. */
  canStart(): boolean;
  /** The limit reached, in words; null while none is. */
  reached(): string | null;
  /** Look again after a task's usage changed; stops agents when past the margin. */
  update(): void;
  /**
   * Registers a running agent: `stop` is called once (with the reason) if the budget is passed by
   * more than the margin. Returns the unregistration.
   */
  track(taskId: string, stop: (why: string) => void): () => void;
  close(): void;
}

export interface BudgetHost {
  state: ExecutionState;
  limits: BudgetLimits | null;
  now(): number;
  /** A limit was reached, or agents were stopped: tell the user (and save the state). */
  notify(message: string): void;
}

const NO_BUDGET: BudgetWatch = {
  canStart: () => true,
  reached: () => null,
  update: () => undefined,
  track: () => () => undefined,
  close: () => undefined,
};

const DURATION_CHECK_MS = 250;

/** Counts from now: what the tasks spent before (an earlier run of a resumed execution) is not. */
export function watchBudget(host: BudgetHost): BudgetWatch {
  const { state, limits } = host;
  if (limits === null) {
    state.budget = null;
    return NO_BUDGET;
  }
  const start = host.now();
  const before = tasksSpent(state);
  const budget = {
    limits: {
      usd: limits.usd,
      tokens: limits.tokens,
      duration_ms: limits.durationMs,
      margin_percent: limits.marginPercent,
    },
    spent: { usd: 0, tokens: 0, duration_ms: 0 },
    reached: null as string | null,
    stopped: [] as string[],
    not_started: [] as string[],
  };
  state.budget = budget;
  const running = new Map<string, (why: string) => void>();

  const evaluate = (): void => {
    const now = tasksSpent(state);
    const spent: Spent = {
      usd: Math.max(0, now.usd - before.usd),
      tokens: Math.max(0, now.tokens - before.tokens),
      durationMs: Math.max(0, host.now() - start),
    };
    budget.spent = { usd: spent.usd, tokens: spent.tokens, duration_ms: spent.durationMs };
    if (budget.reached === null) {
      const reached = overLimits(limits, spent, null)[0];
      if (reached !== undefined) {
        budget.reached = reached;
        host.notify(`budget reached (${reached}): no new task starts`);
      }
    }
    if (limits.marginPercent === null || running.size === 0) return;
    const over = overLimits(limits, spent, limits.marginPercent)[0];
    if (over === undefined) return;
    const why = `${over}, more than ${limits.marginPercent}% over`;
    for (const [taskId, stop] of running) {
      running.delete(taskId);
      budget.stopped.push(taskId);
      stop(why);
    }
    host.notify(`budget exceeded (${why}): running agents stopped`);
  };
  const timer = limits.durationMs === null ? null : setInterval(evaluate, DURATION_CHECK_MS);
  timer?.unref();
  return {
    canStart() {
      evaluate();
      return budget.reached === null;
    },
    reached: () => budget.reached,
    update: evaluate,
    track(taskId, stop) {
      running.set(taskId, stop);
      evaluate();
      return () => running.delete(taskId);
    },
    close() {
      if (timer !== null) clearInterval(timer);
      evaluate();
    },
  };
}
