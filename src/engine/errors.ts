/**
 * Typed errors with stable messages and a hint on what to do. They are thrown by the engine and
 * caught only in the shells, which decide how to show them and which exit code to use.
 */
export class ParallelExecutorError extends Error {
  readonly hint: string | null;
  constructor(message: string, hint: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** The user's input is wrong: a flag, a config file, a plan that cannot be run. Exit code 2. */
export class UsageError extends ParallelExecutorError {}

/** Run from outside a git checkout (or in a bare repository): the wrong place, like a bad flag. */
export class NotInRepositoryError extends UsageError {}

/** A settings file failed validation; `file` and `line` say where. */
export class ConfigurationError extends ParallelExecutorError {
  readonly file: string;
  readonly line: number | null;
  /** Every problem found, the first (`line`, the message's first line) included. */
  readonly problems: ReadonlyArray<{ line: number | null; message: string }>;
  /** `more`: further problems in the same file, each put on a line of its own in the message. */
  constructor(
    file: string,
    line: number | null,
    message: string,
    hint: string | null = null,
    more: ReadonlyArray<{ line: number | null; message: string }> = [],
  ) {
    const at = (where: number | null) => `${file}${where === null ? '' : `:${where}`}`;
    super(
      [
        `${at(line)}: ${message}`,
        ...more.map((problem) => `${at(problem.line)}: ${problem.message}`),
      ].join('\n'),
      hint,
    );
    this.file = file;
    this.line = line;
    this.problems = [{ line, message }, ...more];
  }
}

/** The environment is not ready: dirty tree, missing binary, no disk. Nothing was started. */
export class PreflightError extends ParallelExecutorError {}

/** A git command failed; carries the command, exit code and stderr. */
/**
 * A command could not start because its working directory is gone: typically a task's worktree
 * that its agent removed. `directory` is the path, for the caller to name what it was.
 */
export class MissingDirectoryError extends ParallelExecutorError {
  readonly directory: string;
  constructor(directory: string, what: string) {
    super(`${what} cannot run: the directory ${directory} no longer exists`);
    this.directory = directory;
  }
}

export class GitError extends ParallelExecutorError {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string, cwd: string) {
    super(
      `git ${args.join(' ')} failed in ${cwd} (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      null,
    );
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
