import { ParallelExecutorError } from '../engine/errors.js';

/** A GitHub API call failed; carries what was asked and what GitHub answered. */
export class GitHubApiError extends ParallelExecutorError {
  readonly status: number | null;
  readonly method: string;
  /** `METHOD /path/{template}` */
  readonly route: string;
  readonly requestId: string | null;
  constructor(
    details: { method: string; route: string; status: number | null; requestId: string | null },
    message: string,
    hint: string | null,
    options?: { cause?: unknown },
  ) {
    super(
      `GitHub API ${details.route} failed${details.status === null ? '' : ` (${details.status})`}: ${message}`,
      hint,
      options,
    );
    this.status = details.status;
    this.method = details.method;
    this.route = details.route;
    this.requestId = details.requestId;
  }
}

/** Hints for the statuses people meet, so the error says what to do. */
export function hintForStatus(status: number | null, idempotent: boolean): string | null {
  if (status === 401)
    return 'The token is missing, expired or revoked: check the github-token input or the app credentials.';
  if (status === 403) {
    return 'The token lacks a permission this call needs (checks: write needs a GitHub App token; the workflow needs `permissions:` for contents, pull-requests, checks, actions).';
  }
  if (status === 404)
    return 'The repository, ref or resource does not exist, or the token cannot see it.';
  if (status === 422) return 'GitHub refused the request body; the message above says which field.';
  if (status !== null && status >= 500 && !idempotent) {
    return 'The request may or may not have been applied and was not retried (it is not idempotent): check on GitHub before running it again.';
  }
  if (status === 409 && !idempotent) return 'GitHub reported a conflict; it was not retried.';
  return null;
}
