import { parseArgs } from 'node:util';
import { ConfigurationError, ParallelExecutorError, UsageError } from '../engine/errors.js';
import { closestName } from '../engine/plan/near-ids.js';
import {
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_TERMINATED,
  EXIT_USAGE,
  type CliIo,
  type Command,
} from './io.js';
import { packageVersion } from './version.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
  /**
   * What a first Ctrl-C does, said on stderr; none for a command that just stops (a viewer such
   * as `status --watch`, which must not speak of agents it never owned).
   */
  onInterrupt?: string;
}

const STOPS_AGENTS = 'stopping agents (again to force)…';

const COMMANDS: Record<string, CommandEntry> = {
  clean: {
    summary: 'archive logs, remove worktrees and merged branches of a finished execution',
    // It does not stop half way: a branch or worktree half removed would be worse.
    onInterrupt: 'the clean-up finishes first (again to force)…',
    load: async () => (await import('./commands/clean.js')).cleanCommand,
  },
  demo: {
    summary: 'run the whole flow on a sample repository with scripted agents',
    load: async () => (await import('./commands/demo.js')).demoCommand,
    onInterrupt: STOPS_AGENTS,
  },
  resume: {
    summary: 'continue an execution whose orchestrator stopped',
    load: async () => (await import('./commands/resume.js')).resumeCommand,
    onInterrupt: STOPS_AGENTS,
  },
  run: {
    summary: 'run the plan’s tasks in parallel, each by an agent in its own worktree',
    load: async () => (await import('./commands/run.js')).runCommand,
    onInterrupt: STOPS_AGENTS,
  },
  status: {
    summary: 'show an execution from its state file',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  validate: {
    summary: 'parse and check a plan',
    load: async () => (await import('./commands/validate.js')).validateCommand,
  },
};

/** What bin.ts says on a first Ctrl-C for these arguments; null: nothing, the command just stops. */
export function interruptNotice(argv: readonly string[]): string | null {
  const [name] = argv;
  if (name === undefined) return null;
  return COMMANDS[name]?.onInterrupt ?? null;
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`,
  );
  return [
    'Usage: parallel-executor <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `parallel-executor <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  // `help run` is `run --help`.
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]] !== undefined) {
    return main([rest[0], '--help'], io);
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`parallel-executor ${packageVersion()}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    const near = closestName(name, Object.keys(COMMANDS));
    const guess = near === null ? '' : ` (did you mean ${near}?)`;
    io.stderr.write(`parallel-executor: unknown command "${name}"${guess}\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  let code: number;
  try {
    const command = await entry.load();
    code = await command(rest, io);
  } catch (error) {
    code = reportError(error, io, { json: wantsJson(rest), command: name });
  }
  // Stopped by a signal: the command saved its state and said so; the exit code says it too.
  if (io.signal.aborted) return io.signal.reason === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
  return code;
}

/** What an error is, for words on stderr and for the `--json` document. */
interface ErrorReport {
  message: string;
  hint: string | null;
  /** `usage`, `configuration`, `preflight`, `git`, … (the error class), or `internal`. */
  kind: string;
  exitCode: number;
}

/**
 * The one place errors become words and exit codes. With `--json`, stdout also gets a document,
 * `{"error": {"message", "hint", "kind"}}`, so a script reading it learns why instead of nothing.
 */
export function reportError(
  error: unknown,
  io: CliIo,
  options: { json?: boolean; command?: string } = {},
): number {
  const report = describeError(error, options.command ?? '<command>');
  io.stderr.write(`parallel-executor: ${report.message}\n`);
  if (report.hint !== null) io.stderr.write(`hint: ${report.hint}\n`);
  if (options.json === true) {
    const { message, hint, kind } = report;
    io.stdout.write(`${JSON.stringify({ error: { message, hint, kind } }, null, 2)}\n`);
  }
  return report.exitCode;
}

function describeError(error: unknown, command: string): ErrorReport {
  if (isParseArgsError(error)) {
    // Node's text goes on about positionals after `--`; the first sentence is what matters here.
    const [first] = error.message.split(/(?<=\.) /);
    const near = (error as Error & { nearOption?: string }).nearOption;
    return {
      message: first ?? error.message,
      hint: `${near === undefined ? '' : `did you mean --${near}? `}\`parallel-executor ${command} --help\` lists its options.`,
      kind: 'usage',
      exitCode: EXIT_USAGE,
    };
  }
  if (error instanceof ParallelExecutorError) {
    return {
      message: error.message,
      hint: error.hint || null,
      kind: errorKind(error),
      // A bad config file is bad input like a bad flag: nothing ran.
      exitCode:
        error instanceof UsageError || error instanceof ConfigurationError
          ? EXIT_USAGE
          : EXIT_FAILED,
    };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    message: `unexpected error: ${message}`,
    hint: null,
    kind: 'internal',
    exitCode: EXIT_FAILED,
  };
}

/** `PreflightError` → `preflight`, `GitHubApiError` → `git-hub-api`; the base class → `error`. */
function errorKind(error: ParallelExecutorError): string {
  const name = error.name.replace(/Error$/, '');
  if (name === 'ParallelExecutor' || name === '') return 'error';
  return name.replace(/(?<=[a-z])(?=[A-Z])/g, '-').toLowerCase();
}

/** `--json` among the options (not after `--`, where it would be an argument). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function isParseArgsError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** Strict option parsing shared by the commands: unknown flags are usage errors (exit 2). */
export function parseOptions<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    // `--concurency`: the option meant, for the hint (the command is named there too).
    const typed = isParseArgsError(error) && /^Unknown option '--([^'=]+)'/u.exec(error.message);
    const near = typed ? closestName(typed[1]!, Object.keys(options ?? {})) : null;
    if (near !== null) Object.assign(error as Error, { nearOption: near });
    throw error;
  }
}
