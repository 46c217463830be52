import { z } from 'zod';
import { AGENT_KIND_NAMES } from '../agents/kinds.js';
import { ValidationConfig } from '../validate/schema.js';
import { reportDirProblem } from './report-dir.js';

/**
 * `.github/parallel-executor.yml`: one file for every shell. Command-line flags and action inputs
 * win over it. Every field is optional; defaults are applied here so callers see one settled shape.
 */

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
        model: z.string().optional(),
        /** Path of the `claude` binary; default: found on PATH or in node_modules/.bin. */
        binary: z.string().optional(),
      })
      .strict()
      .default({ kind: 'claude-code', allowedTools: ['Read', 'Write', 'Edit', 'Bash'] }),
    /** Cap on agents running at once; default: every ready task. */
    concurrency: z.number().int().positive().optional(),
    timeouts: z
      .object({
        /** Durations like `90s`, `10m`, `1h`. */
        task: z.string().default('60m'),
        idle: z.string().default('10m'),
        /** Between SIGTERM and SIGKILL. */
        grace: z.string().default('10s'),
      })
      .strict()
      .default({ task: '60m', idle: '10m', grace: '10s' }),
    retries: z.number().int().nonnegative().default(0),
    workspace: z
      .object({
        /** Where worktrees go; default: `.parallel-executor/worktrees` inside the repo (kept out of git). */
        root: z.string().optional(),
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
        testCommand: z.union([z.string().min(1), z.literal(false)]).optional(),
        detectConflicts: z.boolean().default(true),
        branchPrefix: z.string().default('integration/'),
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
      .default({ strategy: 'batch-bisect', detectConflicts: true, branchPrefix: 'integration/' }),
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
