/**
 * The local forge: everything the GitHub forge would send is written as files under one folder
 * (comments and PR bodies as Markdown, check runs and dispatches as JSON), so the whole engine
 * runs with no GitHub at all and a person can read what would have been posted.
 *
 *     <dir>/comments/issue-7/report.md         upserted comment (by marker)
 *     <dir>/comments/issue-7/comment-3.md      plain comment
 *     <dir>/check-runs/1-task-1.1.json         check run with its update history
 *     <dir>/pull-requests/1-pe-integration.md  PR body (+ .json)
 *     <dir>/dispatches/1.json                  workflow dispatch
 *     <dir>/files/<branch>/<path>              files written with createOrUpdateFile
 *     <dir>/forge-state.json                   the index the queries read
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Clock } from '../engine/ports/clock.js';
import { systemClock } from '../engine/ports/clock.js';
import type { CheckRunInput, PullRequestInput } from '../engine/ports/forge.js';
import type { Logger } from '../engine/ports/logger.js';
import { silentLogger } from '../engine/ports/logger.js';
import { UsageError } from '../engine/errors.js';
import { git } from '../engine/workspace/git-exec.js';
import {
  ANNOTATIONS_PER_REQUEST,
  capText,
  CHECK_OUTPUT_LIMIT,
  COMMENT_LIMIT,
  chunk,
} from './limits.js';
import { commentMarker, withMarker } from './markers.js';
import type {
  CheckRunInfo,
  CollaboratorPermission,
  CommentInfo,
  FileContent,
  PullRequestInfo,
  RepoForge,
} from './types.js';

export interface LocalForgeOptions {
  /** Where the files go (e.g. `.parallel-executor/forge`). */
  dir: string;
  owner?: string;
  repo?: string;
  /** A git repository `getFile` reads from (`git cat-file`); otherwise files come from `<dir>/files`. */
  repoDir?: string;
  clock?: Clock;
  logger?: Logger;
}

interface CheckRunRecord extends CheckRunInfo {
  file: string;
  annotations: number;
  history: Array<{ at: string; input: Partial<CheckRunInput> }>;
}

interface State {
  nextId: number;
  comments: Array<CommentInfo & { issue: number; marker: string | null; file: string }>;
  checkRuns: CheckRunRecord[];
  pullRequests: Array<PullRequestInfo & { file: string }>;
  dispatches: Array<{
    id: number;
    workflow: string;
    ref: string;
    inputs: Record<string, string>;
    at: string;
  }>;
  reactions: Array<{ commentId: number; content: string; at: string }>;
  files: Array<{ branch: string; path: string; sha: string; message: string; at: string }>;
}

const EMPTY: State = {
  nextId: 1,
  comments: [],
  checkRuns: [],
  pullRequests: [],
  dispatches: [],
  reactions: [],
  files: [],
};

export function createLocalForge(options: LocalForgeOptions): RepoForge {
  const owner = options.owner ?? 'local';
  const repo = options.repo ?? 'repository';
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const statePath = join(options.dir, 'forge-state.json');
  let queue: Promise<unknown> = Promise.resolve();

  // One change at a time: read the index, change it, write it back atomically.
  function change<T>(fn: (state: State) => Promise<T>): Promise<T> {
    const next = queue.then(async () => {
      const state = await loadState();
      const result = await fn(state);
      await writeAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`);
      return result;
    });
    queue = next.catch(() => undefined);
    return next;
  }

  async function loadState(): Promise<State> {
    try {
      return {
        ...structuredClone(EMPTY),
        ...(JSON.parse(await readFile(statePath, 'utf8')) as Partial<State>),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY);
      throw error;
    }
  }

  const read = () => queue.then(loadState);
  const now = () => clock.now().toISOString();
  const urlOf = (file: string) => pathToFileURL(file).href;

  async function writeComment(state: State, issue: number, marker: string | null, body: string) {
    const id = state.nextId++;
    const name = marker ? `${slug(marker)}.md` : `comment-${id}.md`;
    const file = join(options.dir, 'comments', `issue-${issue}`, name);
    await writeAtomic(file, body);
    const record = { id, issue, marker, file, body, url: urlOf(file) };
    state.comments.push(record);
    logger.info('local forge: comment written', { file });
    return record;
  }

  async function writeCheckRun(record: CheckRunRecord): Promise<void> {
    await writeAtomic(record.file, `${JSON.stringify(record, null, 2)}\n`);
  }

  function applyCheckInput(record: CheckRunRecord, input: Partial<CheckRunInput>): void {
    if (input.name) record.name = input.name;
    if (input.status) record.status = input.status;
    if (input.conclusion) {
      record.conclusion = input.conclusion;
      record.status = 'completed';
    }
    if (input.externalId !== undefined) record.externalId = input.externalId;
    if (input.detailsUrl !== undefined) record.detailsUrl = input.detailsUrl;
    if (input.output) {
      record.outputTitle = input.output.title;
      record.outputSummary = capText(input.output.summary, CHECK_OUTPUT_LIMIT).text;
      // Same batching as GitHub, so counts agree between the two forges.
      record.annotations += chunk(
        input.output.annotations ?? [],
        ANNOTATIONS_PER_REQUEST,
      ).flat().length;
    }
    record.history.push({ at: now(), input });
  }

  const forge: RepoForge = {
    owner,
    repo,

    upsertComment: (issue, markerKey, body) =>
      change(async (state) => {
        const marker = commentMarker(markerKey);
        const text = capText(withMarker(marker, body), COMMENT_LIMIT).text;
        const existing = state.comments.find((c) => c.issue === issue && c.marker === marker);
        if (!existing) {
          const created = await writeComment(state, issue, marker, text);
          return { id: created.id, url: created.url };
        }
        existing.body = text;
        await writeAtomic(existing.file, text);
        return { id: existing.id, url: existing.url };
      }),

    createComment: (issue, body) =>
      change(async (state) => {
        const created = await writeComment(state, issue, null, capText(body, COMMENT_LIMIT).text);
        return { id: created.id, url: created.url };
      }),

    async findComment(issue, markerKey) {
      const marker = commentMarker(markerKey);
      const found = (await read()).comments.find(
        (c) => c.issue === issue && c.body.includes(marker),
      );
      return found ? { id: found.id, body: found.body, url: found.url } : null;
    },

    addReaction: (commentId, content) =>
      change(async (state) => {
        state.reactions.push({ commentId, content, at: now() });
      }),

    async getCollaboratorPermission(): Promise<CollaboratorPermission> {
      // Whoever runs the local engine owns the repository on disk.
      return { permission: 'admin', roleName: 'admin', canWrite: true };
    },

    createCheckRun: (input) =>
      change(async (state) => {
        const id = state.nextId++;
        const record: CheckRunRecord = {
          id,
          name: input.name,
          headSha: input.headSha,
          status: input.status,
          conclusion: null,
          externalId: null,
          detailsUrl: null,
          url: null,
          outputTitle: null,
          outputSummary: null,
          file: join(options.dir, 'check-runs', `${id}-${slug(input.name)}.json`),
          annotations: 0,
          history: [],
        };
        record.url = urlOf(record.file);
        applyCheckInput(record, input);
        state.checkRuns.push(record);
        await writeCheckRun(record);
        return { id };
      }),

    updateCheckRun: (id, input) =>
      change(async (state) => {
        const record = state.checkRuns.find((r) => r.id === id);
        if (!record)
          throw new UsageError(
            `local forge: no check run ${id}`,
            `Check runs are listed in ${statePath}.`,
          );
        applyCheckInput(record, input);
        await writeCheckRun(record);
      }),

    async listCheckRuns(ref, listOptions = {}) {
      return (await read()).checkRuns
        .filter(
          (r) =>
            (r.headSha === ref || ref === 'HEAD') &&
            (!listOptions.name || r.name === listOptions.name),
        )
        .map(({ file: _file, annotations: _a, history: _h, ...info }) => info);
    },

    upsertPullRequest: (input: PullRequestInput) =>
      change(async (state) => {
        const existing = state.pullRequests.find(
          (p) => p.headRef === input.head && p.state === 'open',
        );
        const number = existing?.number ?? state.nextId++;
        const file =
          existing?.file ?? join(options.dir, 'pull-requests', `${number}-${slug(input.head)}.md`);
        const body = capText(input.body, COMMENT_LIMIT).text;
        const record = {
          number,
          url: urlOf(file),
          state: 'open' as const,
          title: input.title,
          body,
          headRef: input.head,
          headSha: '',
          headRepo: `${owner}/${repo}`,
          baseRef: input.base,
          baseRepo: `${owner}/${repo}`,
          fromFork: false,
          file,
        };
        if (existing) Object.assign(existing, record);
        else state.pullRequests.push(record);
        await writeAtomic(file, `# ${input.title}\n\n${input.head} → ${input.base}\n\n${body}`);
        await writeAtomic(file.replace(/\.md$/, '.json'), `${JSON.stringify(record, null, 2)}\n`);
        return { number, url: record.url };
      }),

    async getPullRequest(number) {
      const found = (await read()).pullRequests.find((p) => p.number === number);
      if (!found)
        throw new UsageError(
          `local forge: no pull request ${number}`,
          `Pull requests are listed in ${statePath}.`,
        );
      const { file: _file, ...info } = found;
      return info;
    },

    async findOpenPullRequest(head) {
      const found = (await read()).pullRequests.find(
        (p) => p.headRef === head && p.state === 'open',
      );
      if (!found) return null;
      const { file: _file, ...info } = found;
      return info;
    },

    // Nothing runs workflows locally: no run is ever active.
    listWorkflowRuns: async () => [],

    dispatchWorkflow: (workflow, ref, inputs) =>
      change(async (state) => {
        const id = state.nextId++;
        const record = { id, workflow, ref, inputs, at: now() };
        state.dispatches.push(record);
        const file = join(options.dir, 'dispatches', `${id}.json`);
        await writeAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
        return { runId: id, url: urlOf(file) };
      }),

    async getFile(path, ref) {
      if (options.repoDir) return readFromGit(options.repoDir, path, ref ?? 'HEAD');
      const record = (await read()).files.find(
        (f) => f.path === path && (!ref || f.branch === ref),
      );
      if (!record) return null;
      const content = await readFile(
        join(options.dir, 'files', record.branch, record.path),
        'utf8',
      );
      return { content, sha: record.sha };
    },

    createOrUpdateFile: (write) =>
      change(async (state) => {
        const existing = state.files.find(
          (f) => f.branch === write.branch && f.path === write.path,
        );
        // The same conflict GitHub answers 409 for: the caller's copy is out of date.
        if (existing && write.sha !== existing.sha) {
          throw new UsageError(
            `local forge: ${write.path} on ${write.branch} changed (sha ${existing.sha}, given ${write.sha ?? 'none'})`,
            'Read the file again and retry with its current sha.',
          );
        }
        const sha = blobSha(write.content);
        const file = inside(options.dir, 'files', write.branch, write.path);
        await writeAtomic(file, write.content);
        const record = {
          branch: write.branch,
          path: write.path,
          sha,
          message: write.message,
          at: now(),
        };
        if (existing) Object.assign(existing, record);
        else state.files.push(record);
        return { commitSha: '', contentSha: sha };
      }),
  };
  return forge;
}

async function readFromGit(
  repoDir: string,
  path: string,
  ref: string,
): Promise<FileContent | null> {
  // A ref that looks like an option would be read as one, even through an argument vector.
  if (ref.startsWith('-'))
    throw new UsageError(`invalid ref "${ref}"`, 'Refs cannot start with "-".');
  const spec = `${ref}:${path.replace(/^\/+/, '')}`;
  const sha = await git(repoDir, ['rev-parse', '--verify', '--quiet', spec], {
    allowExitCodes: [1, 128],
  });
  if (sha.exitCode !== 0) return null;
  const id = sha.stdout.trim();
  const type = await git(repoDir, ['cat-file', '-t', id]);
  if (type.stdout.trim() !== 'blob')
    throw new UsageError(`${spec} is a ${type.stdout.trim()}, not a file`, null);
  const blob = await git(repoDir, ['cat-file', 'blob', id]);
  return { content: blob.stdout, sha: id };
}

/** Git's blob id of `content`, so local SHAs look and behave like GitHub's. */
function blobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** `dir/...parts`, refusing parts that would climb out of `dir` (`..`, absolute paths). */
function inside(dir: string, ...parts: string[]): string {
  for (const part of parts) {
    if (isAbsolute(part) || part.split(/[\\/]/).includes('..')) {
      throw new UsageError(
        `local forge: "${part}" would write outside ${dir}`,
        'Use a relative path without "..".',
      );
    }
  }
  return join(dir, ...parts);
}

function slug(text: string): string {
  const cleaned = text
    .replace(/^<!--\s*(parallel-executor:)?|\s*-->$/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return cleaned || 'item';
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}
