/**
 * Issue and PR comments: the marked comment is found again (paginating the issue's comments),
 * edited in place, and created only when missing. Bodies are capped below GitHub's limit.
 */
import { capText, COMMENT_LIMIT } from '../limits.js';
import { commentMarker, withMarker } from '../markers.js';
import type { CommentInfo, Reaction } from '../types.js';
import { listing, NO_PLUGIN_RETRY, PAGE_SIZE, statusOf, type GitHubContext } from './context.js';

const CUT_NOTE = 'the full text is in the workflow run (job summary and artifacts)';

/** A comment that carries a marker, with who wrote it and when. */
export interface MarkedComment extends CommentInfo {
  author: string | null;
  createdAt: string;
}

/**
 * Comments on an issue or PR that carry `marker` (a full `<!-- … -->` marker), oldest first; only
 * those by `author` when given, so a marker pasted into someone else's comment does not count.
 * `first` stops at the first page that has one.
 */
export async function markedComments(
  ctx: GitHubContext,
  issueNumber: number,
  marker: string,
  author: string | null,
  options: { first?: boolean } = {},
): Promise<MarkedComment[]> {
  const route = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments';
  const params = listing({
    owner: ctx.owner,
    repo: ctx.repo,
    issue_number: issueNumber,
    per_page: PAGE_SIZE,
  });
  return ctx.read(route, () =>
    ctx.octokit.paginate(route, params, (response, done) => {
      const found = response.data
        .filter((comment) => {
          const login = comment.user?.login ?? null;
          return (comment.body ?? '').includes(marker) && (author === null || login === author);
        })
        .map((comment): MarkedComment => ({
          id: Number(comment.id),
          body: comment.body ?? '',
          url: comment.html_url,
          author: comment.user?.login ?? null,
          createdAt: comment.created_at,
        }));
      if (options.first && found.length > 0) done();
      return found;
    }),
  );
}

/** Edit a comment by id (body capped); null when it no longer exists, e.g. someone deleted it. */
export async function editComment(
  ctx: GitHubContext,
  id: number,
  body: string,
): Promise<CommentInfo | null> {
  const route = 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}';
  const capped = capText(body, COMMENT_LIMIT, CUT_NOTE).text;
  if (ctx.dryRun) {
    ctx.wouldSend(route, { comment_id: id, body: capped });
    return { id, body: capped, url: '' };
  }
  try {
    const { data } = await ctx.write(route, true, () =>
      ctx.octokit.request(route, {
        owner: ctx.owner,
        repo: ctx.repo,
        comment_id: id,
        body: capped,
        request: NO_PLUGIN_RETRY,
      }),
    );
    return { id: Number(data.id), body: capped, url: data.html_url };
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

export interface CommentsApi {
  upsertComment(
    issueNumber: number,
    marker: string,
    body: string,
  ): Promise<{ id: number; url: string }>;
  createComment(issueNumber: number, body: string): Promise<{ id: number; url: string }>;
  findComment(issueNumber: number, marker: string): Promise<CommentInfo | null>;
  addReaction(commentId: number, content: Reaction): Promise<void>;
}

/**
 * `markerAuthor`: only comments by this login count as ours (e.g. `my-app[bot]`), so a marker
 * pasted into someone else's comment cannot redirect our edits or feed us forged state.
 */
export function createCommentsApi(
  ctx: GitHubContext,
  markerAuthor: string | null = null,
): CommentsApi {
  const { owner, repo } = ctx;
  // Comment ids found or created by this forge: later upserts edit directly, no search.
  const known = new Map<string, CommentInfo>();
  // Upserts of one marker run one after another, or two callers could both create it.
  const inFlight = new Map<string, Promise<unknown>>();

  async function findComment(issueNumber: number, markerKey: string): Promise<CommentInfo | null> {
    const [found] = await markedComments(ctx, issueNumber, commentMarker(markerKey), markerAuthor, {
      first: true,
    });
    return found ? { id: found.id, body: found.body, url: found.url } : null;
  }

  async function createComment(
    issueNumber: number,
    body: string,
  ): Promise<{ id: number; url: string }> {
    const route = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
    const capped = capText(body, COMMENT_LIMIT, CUT_NOTE).text;
    if (ctx.dryRun) {
      ctx.wouldSend(route, { issue_number: issueNumber, body: capped });
      return { id: 0, url: '' };
    }
    const { data } = await ctx.write(route, false, () =>
      ctx.octokit.request(route, {
        owner,
        repo,
        issue_number: issueNumber,
        body: capped,
        request: NO_PLUGIN_RETRY,
      }),
    );
    return { id: Number(data.id), url: data.html_url };
  }

  async function upsert(
    issueNumber: number,
    markerKey: string,
    body: string,
  ): Promise<{ id: number; url: string }> {
    const marker = commentMarker(markerKey);
    const capped = capText(withMarker(marker, body), COMMENT_LIMIT, CUT_NOTE).text;
    const key = `${issueNumber}\n${marker}`;
    if (ctx.dryRun) {
      ctx.wouldSend('PATCH or POST issue comment (upsert)', {
        issue_number: issueNumber,
        marker,
        body: capped,
      });
      return { id: 0, url: '' };
    }
    const cached = known.get(key) ?? (await findComment(issueNumber, marker));
    if (cached) {
      // Editing to the same text would spend a content-creating request on nothing.
      if (cached.body === capped) return { id: cached.id, url: cached.url };
      const updated = await editComment(ctx, cached.id, capped);
      if (updated) {
        known.set(key, updated);
        return { id: updated.id, url: updated.url };
      }
      known.delete(key);
    }
    const created = await createComment(issueNumber, capped);
    known.set(key, { ...created, body: capped });
    return created;
  }

  return {
    findComment,
    createComment,
    upsertComment(issueNumber, markerKey, body) {
      const key = `${issueNumber}\n${commentMarker(markerKey)}`;
      const previous = inFlight.get(key) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(() => upsert(issueNumber, markerKey, body));
      inFlight.set(key, next);
      void next
        .finally(() => {
          if (inFlight.get(key) === next) inFlight.delete(key);
        })
        .catch(() => undefined);
      return next;
    },
    async addReaction(commentId, content) {
      const route = 'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions';
      if (ctx.dryRun) {
        ctx.wouldSend(route, { comment_id: commentId, content });
        return;
      }
      // GitHub answers 200 for a reaction that already exists, so repeating it is harmless.
      await ctx.write(route, true, () =>
        ctx.octokit.request(route, {
          owner,
          repo,
          comment_id: commentId,
          content,
          request: NO_PLUGIN_RETRY,
        }),
      );
    },
  };
}
