import { z } from 'zod';
import { CLAUDE_PERMISSION_MODES } from '../agents/claude-code.js';
import { AGENT_KIND_NAMES } from '../agents/kinds.js';
import { ValidationConfig } from '../validate/schema.js';
import { durationProblem } from './duration.js';
import { reportDirProblem } from './report-dir.js';

/**
 * `.github/parallel-executor.yml`: one file for every shell. Command-line flags and action inputs
 * win over it. Every field is optional; defaults are applied here so callers see one settled shape.
 */

/** A duration (`90s`, `10m`, `1h30m`, `10 minutes`), checked by the rule a run reads it with. */
const Duration = z
  .string({ error: 'must be a duration with its unit, like 90s, 10m, 1h, 1h30m or 10 minutes' })
  .superRefine((text, ctx) => {
    const problem = durationProblem(text);
    if (problem !== null) {
      ctx.addIssue({
        code: 'custom',
        message: `${problem}; write it like 90s, 10m, 1h, 1h30m or 10 minutes`,
      });
    }
  });

export const Config = z
  .object({
    plan: z.string().default('MULTI_AGENT_PLAN.md'),
    agent: z
      .object({
        kind: z.enum(AGENT_KIND_NAMES).default('claude-code'),
        /** For `command`: the user's own shell command (trusted text, run with `sh -c`). */
        command: z.string().optional(),
        /** For `claude-code`: tools the agent may use without asking (`--allowedTools`). */
        allowedTools: z.array(z.string()).default(['Read', 'Write', 'Edit', 'Bash']),
        /** For `claude-code`: `--model` (an alias such as `sonnet`, or a full model name). */
        model: z.string().optional(),
        /** Path of the `claude` binary; default: found on PATH or in node_modules/.bin. */
        binary: z.string().optional(),
        /** For `codex`: `-c key=value` overrides of Codex's own config (`config.toml` keys). */
        codex: z
          .object({
            config: z
              .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
              .superRefine((entries, ctx) => {
                for (const key of Object.keys(entries)) {
                  if (/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key)) continue;
                  ctx.addIssue({
                    code: 'custom',
                    path: [key],
                    message:
                      'must be a dotted config.toml key such as sandbox_workspace_write.network_access',
                  });
                }
              })
              .default({}),
          })
          .strict()
          .optional(),
        /** For `claude-code`: `--fallback-model`, used when the model is overloaded or unavailable. */
        fallbackModel: z.string().optional(),
        /** For `claude-code`: `--max-turns`, the agentic turns one attempt may take. */
        maxTurns: z.number().int().positive().optional(),
        /** For `claude-code`: tools the agent may not use (`--disallowedTools`); `SendMessage` always is. */
        disallowedTools: z.array(z.string()).default([]),
        /** For `claude-code`: text appended to Claude Code's system prompt (`--append-system-prompt`). */
        appendSystemPrompt: z.string().optional(),
        /** For `claude-code`: `--permission-mode`. */
        permissionMode: z.enum(CLAUDE_PERMISSION_MODES).optional(),
        /** For `claude-code`: MCP servers (`--mcp-config`): a JSON object, or a path from the repository root. */
        mcpConfig: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
        /** For `claude-code`: settings (`--settings`): a JSON object, or a path from the repository root. */
        settings: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
        /** For `claude-code`: more arguments for the CLI, one string each, as they are. */
        extraArgs: z.array(z.string()).default([]),
        /** Extra environment variables for every agent process. */
        env: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({
        kind: 'claude-code',
        allowedTools: ['Read', 'Write', 'Edit', 'Bash'],
        disallowedTools: [],
        extraArgs: [],
        env: {},
      }),
    /** Cap on agents running at once; default: every ready task. */
    concurrency: z.number().int().positive().optional(),
    timeouts: z
      .object({
        /** Durations like `90s`, `10m`, `1h`. */
        task: Duration.default('60m'),
        idle: Duration.default('10m'),
        /** Between SIGTERM and SIGKILL. */
        grace: Duration.default('10s'),
      })
      .strict()
      .default({ task: '60m', idle: '10m', grace: '10s' }),
    retries: z.number().int().nonnegative().default(0),
    /**
     * A budget for the whole run: once reached no new task starts; running agents finish unless
     * `margin` (percent past the budget, e.g. `10%`) is set, past which they are stopped.
     */
    budget: z
      .object({
        usd: z.number().positive().optional(),
        tokens: z.number().int().positive().optional(),
        /** Wall time since the run started, like `90m`. */
        duration: Duration.optional(),
        margin: z
          .union([
            z.number().nonnegative(),
            z.string().regex(/^\s*\d+(\.\d+)?\s*%\s*$/, 'a percentage like 10%'),
          ])
          .optional(),
      })
      .strict()
      .optional(),
    workspace: z
      .object({
        /** Where worktrees go; default: `.parallel-executor/worktrees` inside the repo (kept out of git). */
        root: z.string().optional(),
        /**
         * Finished tasks' worktrees clean-up keeps ready (cleaned, detached) for the next run, which
         * then checks out only what changed instead of every file: for big repositories or slow
         * disks. 0 (the default): worktrees are removed.
         */
        pool: z.number().int().min(0).max(64).default(0),
        /** Copied into each worktree besides `.env*` and `.claude/`. */
        replicate: z.array(z.string()).default([]),
        /** Run in each worktree before the agent starts (e.g. `npm ci`). */
        setup: z.string().optional(),
        minFreeDiskMb: z.number().int().nonnegative().default(500),
        /** Environment variables that must be set before a run starts. */
        requiredEnv: z.array(z.string()).default([]),
        portBase: z.number().int().min(1024).max(65000).default(41000),
        portsPerAgent: z.number().int().positive().default(10),
      })
      .strict()
      .default({
        pool: 0,
        replicate: [],
        minFreeDiskMb: 500,
        requiredEnv: [],
        portBase: 41000,
        portsPerAgent: 10,
      }),
    validation: ValidationConfig,
    integration: z
      .object({
        strategy: z.enum(['batch-bisect', 'serial']).default('batch-bisect'),
        /** Default: the validation tests command. */
        testCommand: z
          .union([z.string().min(1), z.literal(false)], {
            error: 'expected a shell command (text), or false for no integration tests',
          })
          .optional(),
        detectConflicts: z.boolean().default(true),
        branchPrefix: z.string().default('integration/'),
        /**
         * What to do with an interaction risk (two tasks that merge cleanly but change the same
         * definition, or one changes what the other uses): `report` it; `test-both`: also run
         * both tasks' own new tests together on the integration branch; `repair`: hand the pair
         * to a repair attempt of kind `interaction` (an agent writes a test of the combination
         * and fixes what fails), as many as `repair.attempts` allows.
         */
        onRisk: z.enum(['report', 'test-both', 'repair']).default('report'),
        /**
         * Hand a task left out for a conflict, failing integration tests or failed validation back
         * to an agent, up to `attempts` times (0: never). Absent: 1 for claude-code and codex
         * agents, 0 for command agents.
         */
        repair: z
          .object({
            attempts: z.number().int().nonnegative().default(1),
            on: z
              .array(z.enum(['conflict', 'tests', 'validation']))
              .default(['conflict', 'tests', 'validation']),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({
        strategy: 'batch-bisect',
        detectConflicts: true,
        branchPrefix: 'integration/',
        onRisk: 'report',
      }),
    report: z
      .object({
        /** Inside the repository: the report is committed there. */
        dir: z
          .string()
          .default('reports')
          .superRefine((dir, ctx) => {
            const problem = reportDirProblem(dir);
            if (problem !== null) {
              ctx.addIssue({
                code: 'custom',
                message: `${problem}; use a folder inside the repository, relative to its root (e.g. reports)`,
              });
            }
          }),
        writeBack: z
          .enum(['integration-branch', 'working-tree', 'none'])
          .default('integration-branch'),
      })
      .strict()
      .default({ dir: 'reports', writeBack: 'integration-branch' }),
    github: z
      .object({
        workflow: z.string().default('parallel-run.yml'),
        /** Branches where a push that changes the plan starts the next pending group. */
        autoRunBranches: z.array(z.string()).default([]),
        allowBots: z.boolean().default(false),
        maxParallel: z.number().int().positive().optional(),
        /** Commit the plan's status write-back to the PR branch when a run ends. */
        writeBackToPr: z.boolean().default(false),
        /**
         * Integrate tasks that change `.github/workflows/**`. GitHub refuses a push of such a
         * change by a token without the `workflows` permission (the whole push), so by default
         * such a task is left out; set it only with a token that has that permission.
         */
        allowWorkflowChanges: z.boolean().default(false),
      })
      .strict()
      .default({
        workflow: 'parallel-run.yml',
        autoRunBranches: [],
        allowBots: false,
        writeBackToPr: false,
        allowWorkflowChanges: false,
      }),
  })
  .strict();

export type Config = z.infer<typeof Config>;
export type ConfigInput = z.input<typeof Config>;

export const CONFIG_PATH = '.github/parallel-executor.yml';
