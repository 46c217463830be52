/**
 * The AgentRunner port: start one agent on one task in one workspace, stream what it does, stop it.
 * Adapters: `command` (any trusted shell command), `claude-code` (the real Claude Code CLI) and
 * `codex` (the real Codex CLI).
 */

export interface AgentLaunch {
  executionId: string;
  taskId: string;
  taskTitle: string;
  /** The lead agent's name as the plan writes it (`Builder-1`). */
  agent: string;
  branch: string;
  /** Absolute path of the task's worktree; the agent's working directory. */
  worktree: string;
  /** Absolute path of AGENT_CONTEXT.md: the agent's prompt. */
  contextFile: string;
  /** Absolute path of the JSON status file the agent may write progress to. */
  statusFile: string;
  /** Absolute path of the log file the adapter appends the agent's output to. */
  logFile: string;
  /** First port of the range reserved for this agent (dev servers, etc.). */
  port: number;
  /** Environment the agent gets, already filtered by the shell; the adapter adds PE_* variables. */
  env: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * What an adapter reports while the agent works; the monitor turns these into state and dashboard.
 * Every line the agent prints yields at least one event, so "no event for N minutes" means idle.
 * `progress` comes from the status file or the adapter's own reading (percent 0–100);
 * `usage` carries running totals for the attempt, the last one being final; `diagnostic` is a
 * retry or a denial to show the user; `error` is the agent
 * reporting a problem (it may still go on), not the end of the run: that is `done`.
 * `alive` is life without a line to show (output with no newline yet, a streamed token, a status
 * file rewritten as it was); `waiting` is the agent announcing it will be silent for up to `ms`
 * (an API retry it waits out), so silence until then is not a hang.
 */
export type AgentEvent =
  | { type: 'started'; pid: number }
  | { type: 'progress'; percent: number | null; step: string | null }
  | { type: 'output'; line: string }
  | {
      type: 'usage';
      /** Uncached input; cached prompt tokens are counted apart. */
      inputTokens: number;
      outputTokens: number;
      cacheReadTokens?: number;
      cacheCreationTokens?: number;
      costUsd: number | null;
    }
  | {
      type: 'error';
      message: string;
      /**
       * No retry can fix it (the API key refused, the model unknown, no credit left): the attempt
       * is stopped, not retried, and no other task is started to fail the same way.
       */
      fatal?: boolean;
    }
  /**
   * Something the user must see even if the task succeeds: an API retry, a tool call the agent
   * was not allowed to make (`permission denied: Bash …`).
   */
  | { type: 'diagnostic'; message: string }
  | { type: 'alive' }
  | { type: 'waiting'; ms: number };

/** How a `diagnostic` about a refused tool call starts: such a task is never a clean success. */
export const PERMISSION_DENIED = 'permission denied';

/** Why the orchestrator stopped an agent: a limit, the user, or a failure no retry can fix. */
export type StopReason = 'timeout' | 'idle' | 'cancelled' | 'fatal' | 'budget';

export interface AgentOutcome {
  exitCode: number | null;
  signal: string | null;
  /** Null when the agent ended on its own; otherwise why it was stopped. */
  stoppedBecause: StopReason | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from / written to the cache (Claude Code); absent when the agent does not say. */
  cacheReadTokens?: number | null;
  cacheCreationTokens?: number | null;
  costUsd: number | null;
  /** The agent's own last words (Claude Code's `result`), when it gives them. */
  summary: string | null;
  /**
   * The agent's own report that it failed, when it gives one: Claude Code's `is_error` result, or
   * `has_error` with its message in the last status the agent wrote. Optional for compatibility.
   */
  agentError?: string | null;
  /**
   * The last lines of output (as in `output` events): stdout's, then stderr's (a crash's error comes
   * last, whichever pipe was read first), oldest first in each.
   */
  lastLines: string[];
  /**
   * Processes the agent started outside its process tree (setsid, nohup, daemons) that were still
   * running when it ended: those stopped, and those that survived SIGKILL (`pid 42 (sleep 300)`).
   * Null or absent when they could not be looked for (no /proc). `unread`: processes whose
   * environment could not be read in time, so that whether they are the agent's is unknown.
   */
  leftBehind?: { stopped: string[]; running: string[]; unread?: string } | null;
}

export interface AgentHandle {
  /** The agent's pid, which is also its process group id. */
  pid: number;
  /** One reader only; buffered until read; ends when the agent is done. */
  events: AsyncIterable<AgentEvent>;
  /** Resolves when the process tree is gone. */
  done: Promise<AgentOutcome>;
  /**
   * The runner's `interrupt` to the agent alone, if it has one, and the process tree's SIGTERM
   * once the agent has exited; SIGKILL when the grace period is over (default 10 s). Resolves when
   * the tree is gone and `done` has resolved. The first reason given is the one reported.
   */
  stop(reason: StopReason, graceMs?: number): Promise<void>;
}

export interface AgentRunner {
  readonly kind: string;
  /**
   * The agent cannot write the repository's `.git` (Codex's sandbox): its context tells it not to
   * commit, and collection commits what it leaves in the worktree.
   */
  readonly gitReadOnly?: boolean;
  /**
   * A `command` runner's command line, run in each task's worktree: the pre-flight checks that a
   * program it names by a path is there (a script not committed is not in the worktrees).
   */
  readonly command?: string;
  /**
   * The signal on which the agent ends its work at once, sent to it alone before its tree gets
   * SIGTERM (Claude Code: SIGINT; on SIGTERM it goes on asking the model while it shuts down).
   * `resume` sends it to the agents a dead orchestrator left running, too.
   */
  readonly interrupt?: NodeJS.Signals;
  /**
   * What an attempt spent that its output never showed, read once its agent is gone: `resume`
   * asks it of the attempts a dead orchestrator was following (Claude Code went on in a session
   * of its own; its session transcript has the turns). Null when there is none or it cannot be told.
   */
  unseenUsage?(attempt: {
    logFile: string;
    env: Record<string, string | undefined>;
  }): Promise<UnseenUsage | null>;
  /** Fails fast with an actionable error when the agent cannot run here (binary or key missing). */
  preflight(): Promise<void>;
  start(launch: AgentLaunch): Promise<AgentHandle>;
}

/** Tokens an agent spent that its output did not show (their cost is not known). */
export interface UnseenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** How many model replies they are. */
  messages: number;
  /** Where they were read, for the message: the agent's session. */
  session: string;
}
