import type { Task } from '../plan/schema.js';

/** What the agent is told, besides its task: where it works, what it builds on, how to report. */
export interface AgentContextInput {
  executionId: string;
  task: Task;
  /** The lead agent (the first the plan names). */
  agent: string;
  groupTitle: string | null;
  planTitle: string | null;
  branch: string;
  baseRef: string;
  dependencies: DependencyContext[];
  /** Inbox folder names of the other agents of the execution. */
  otherAgents: string[];
  /** This agent's inbox folder name under PE_MESSAGES_DIR. */
  inbox: string;
  /** False where the task runs alone (an Action job): there is nobody to message. */
  messaging: boolean;
  port: number;
  portsPerAgent: number;
  /** The agent cannot write `.git` (Codex's sandbox): it must not commit; the tool does. */
  gitReadOnly?: boolean;
  /** A retry (`--retries`, `resume`, `resume --retry-failed`): what came before it. */
  earlier?: EarlierAttempts | null;
}

/** What a retried task's agent is told about the attempts before it. */
export interface EarlierAttempts {
  /** Attempts made before this one. */
  attempts: number;
  /** Why the last one ended (a failure, a stop), when known. */
  reason: string | null;
  /** The commit the task's branch started from. */
  startSha: string;
  /** Commits the branch holds beyond its start: the earlier work, a fix made by hand since. */
  commits: number;
}

export interface DependencyContext {
  id: string;
  title: string;
  agent: string;
  /** `this-execution`: its branch is merged into this worktree; `plan`: done before, in the base. */
  completedIn: 'this-execution' | 'plan';
  branch: string | null;
  filesChanged: string[];
  /** The dependency's TASK_SUMMARY.md (or its agent's last words), when there is one. */
  summary: string | null;
}

const MAX_FILES_LISTED = 30;
const MAX_SUMMARY = 2000;
const MAX_REASON = 2000;

/** AGENT_CONTEXT.md, shaped like the seed's Step 2.2 context bundle. */
export function renderAgentContext(input: AgentContextInput): string {
  const { task } = input;
  const lines: string[] = [
    `# Agent Context: ${input.agent}`,
    '',
    '## Assigned Task',
    task.title || `Task ${task.id}`,
    '',
    '## Task ID',
    `${task.id} (execution ${input.executionId}${task.group === null ? '' : `, group ${task.group}${input.groupTitle ? `: ${input.groupTitle}` : ''}`})`,
    '',
    '## Dependencies Met',
    ...dependencyLines(input.dependencies),
    '',
    ...earlierLines(input.earlier ?? null),
    '## Expected Output',
    ...(task.files.length > 0
      ? task.files.map((file) => `- ${file}`)
      : ['- The changes the task describes, in this worktree.']),
    `- A short \`TASK_SUMMARY.md\` at the root of the worktree: what you did and what the next tasks should know.`,
    '',
    '## Success Criteria',
    ...(task.criteria.length > 0
      ? task.criteria.map((criterion) => `- [ ] ${criterion}`)
      : ['- [ ] The task is done as described and the existing tests still pass.']),
    '',
    '## Related Context',
    ...(input.planTitle ? [`- Plan: ${input.planTitle}`] : []),
    `- Branch: \`${input.branch}\`, started from \`${input.baseRef}\`${input.dependencies.some((d) => d.completedIn === 'this-execution') ? ' with the dependencies above merged in' : ''}.`,
    `- Other agents may be working on other branches at the same time; stay within your task.`,
    ...(task.details.trim().length > 0 ? ['', task.details.trim()] : []),
    '',
    '## How to Work Here',
    ...(input.gitReadOnly === true
      ? [
          '- Work only inside this worktree (your current directory). Do not commit: your sandbox',
          '  cannot write to `.git`, so `git add`, `git commit`, `git stash` and `git checkout` fail.',
          `  parallel-executor commits your work on \`${input.branch}\` when you exit: leave it in the files.`,
        ]
      : [
          '- Work only inside this worktree (your current directory). Commit on this branch if you like;',
          '  whatever you leave uncommitted is committed for you when you exit.',
          '- Do not commit `AGENT_CONTEXT.md` or `TASK_SUMMARY.md`: the orchestrator collects them.',
        ]),
    '- Exit with status 0 when the task is done, non-zero when you could not do it.',
    `- Ports ${input.port}–${input.port + input.portsPerAgent - 1} are yours (\`$PE_PORT\` is the first); other agents use other ranges.`,
    '',
    '## Reporting Progress',
    'Write a JSON object to the file named by `$PE_STATUS_FILE` whenever your progress changes',
    '(replace the whole file; write a temp file and rename it if you can):',
    '',
    '```json',
    '{"progress_percent": 40, "current_step": "Writing unit tests", "has_error": false, "message": null}',
    '```',
    '',
    'Progress, output and status changes count as activity; an agent silent for too long is',
    'considered hung and is stopped.',
    '',
    ...messageLines(input),
  ];
  return lines.join('\n');
}

/** How to reach the other agents, and when to look for what they sent; or that nobody can. */
function messageLines(input: AgentContextInput): string[] {
  if (!input.messaging) {
    return [
      '## Messages',
      'Messaging between agents is not available here: this task runs in its own job, alone, so no',
      'other agent can read or write an inbox of yours. Put what other tasks should know in your',
      'commits and in `TASK_SUMMARY.md`.',
      '',
    ];
  }
  const others = input.otherAgents;
  // Addressed to someone else: an example that names the reader itself would mislead it.
  const example = others[0] ?? '<another-agent>';
  return [
    '## Messages',
    `Your inbox is \`$PE_MESSAGES_DIR/${input.inbox}/inbox/\` (also \`$PE_INBOX\`). To message another`,
    'agent, write a JSON file into its inbox, `$PE_MESSAGES_DIR/<agent>/inbox/` (temp name, then',
    'rename to `<message_id>.json`):',
    '',
    '```json',
    `{"message_id": "msg_001", "from_agent": "${input.inbox}", "to_agent": "${example}", "message_type": "interface_contract", "payload": {}}`,
    '```',
    '',
    'Look at your inbox before you start each subtask, and whenever you are blocked or waiting for',
    "another agent's work. Acknowledge a message once you have processed it by deleting the file or",
    'writing `<file>.ack` beside it; unacknowledged messages are escalated to the user.',
    'Only agents running at the same time as you can read what you send: a message to an agent',
    'that has finished is never delivered (your task gets a warning, and the report lists it).',
    others.length > 0
      ? `Other agents in this execution: ${others.map((a) => `\`${a}\``).join(', ')}.`
      : 'You are the only agent of this execution: there is nobody to message.',
    '',
  ];
}

/**
 * A retry's agent would otherwise read the brief of a fresh start: on a branch that holds the
 * earlier attempt's commits (and a fix a person committed after it) it would redo the task over
 * them, and it would not know what went wrong the last time.
 */
function earlierLines(earlier: EarlierAttempts | null): string[] {
  if (earlier === null || earlier.attempts === 0) return [];
  const lines = ['## Earlier Attempts', `This is attempt ${earlier.attempts + 1} of this task.`];
  if (earlier.reason !== null && earlier.reason.trim() !== '') {
    const reason = earlier.reason.trim();
    const cut = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
    lines.push(
      'The attempt before this one ended so:',
      ...cut.split('\n').map((l) => `> ${l}`),
      '',
    );
  }
  const start = earlier.startSha.slice(0, 12);
  lines.push(
    earlier.commits > 0
      ? `This branch already holds ${earlier.commits} commit(s) made since the task started (\`git log --stat ${start}..HEAD\`): the earlier work, and any fix a person committed after it. Build on them; do not start over.`
      : `This worktree starts again from the task's start commit (${start}): the earlier attempt's work is not in it.`,
    '',
  );
  return lines;
}

function dependencyLines(dependencies: DependencyContext[]): string[] {
  if (dependencies.length === 0)
    return ["- None: this task's branch started from the base commit."];
  const lines: string[] = [];
  for (const dep of dependencies) {
    const where =
      dep.completedIn === 'this-execution'
        ? `completed in this execution on \`${dep.branch ?? '?'}\`, merged into this worktree`
        : 'completed before this execution (already in the base)';
    lines.push(`- ${dep.id}: ${dep.title} (${dep.agent}) — ${where}`);
    if (dep.filesChanged.length > 0) {
      const shown = dep.filesChanged.slice(0, MAX_FILES_LISTED).map((f) => `\`${f}\``);
      const more = dep.filesChanged.length - shown.length;
      lines.push(`  - Files changed: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
    }
    if (dep.summary !== null && dep.summary.trim().length > 0) {
      const summary = dep.summary.trim().slice(0, MAX_SUMMARY);
      lines.push('  - Summary:', ...summary.split('\n').map((line) => `    > ${line}`));
    }
  }
  return lines;
}
