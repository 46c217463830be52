import { describe, expect, it } from 'vitest';
import {
  asPullRequestComment,
  exampleEvents,
  retarget,
  webhookExample,
  withInstallation,
} from '../support/webhook-payloads.js';

describe('webhook payloads', () => {
  it('loads real examples by event and action', () => {
    expect(exampleEvents()).toEqual(
      expect.arrayContaining(['issue_comment', 'workflow_job', 'check_run', 'push']),
    );
    const queued = webhookExample('workflow_job.queued');
    expect(queued.action).toBe('queued');
    expect(queued.workflow_job.status).toBe('queued');
    expect(() => webhookExample('workflow_job.exploded' as 'workflow_job')).toThrow(
      /actions: .*queued/,
    );
  });

  it('returns a fresh copy each time', () => {
    const a = webhookExample('push');
    a.ref = 'refs/heads/changed';
    expect(webhookExample('push').ref).not.toBe('refs/heads/changed');
  });

  it('retargets the repository and the URLs that name it, and nothing else', () => {
    const original = webhookExample('issue_comment.created');
    const payload = retarget(original, { owner: 'acme', repo: 'widgets' });
    expect(payload.repository.full_name).toBe('acme/widgets');
    expect(payload.repository.owner.login).toBe('acme');
    expect(payload.issue.url).toBe(
      `https://api.github.com/repos/acme/widgets/issues/${original.issue.number}`,
    );
    expect(payload.comment.url).toMatch(
      /^https:\/\/api.github.com\/repos\/acme\/widgets\/issues\/comments\/\d+$/,
    );
    expect(payload.sender.login).toBe(original.sender.login);
    expect(JSON.stringify(payload)).not.toContain(`/${original.repository.full_name}/`);
  });

  it('turns an issue comment into a PR comment with a body and an author', () => {
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'o', repo: 'r' }),
      {
        number: 42,
        body: '/parallel-run all',
        user: 'alice',
        userType: 'Bot',
      },
    );
    expect(payload.issue.number).toBe(42);
    expect(payload.issue.pull_request?.url).toBe('https://api.github.com/repos/o/r/pulls/42');
    expect(payload.issue.url).toBe('https://api.github.com/repos/o/r/issues/42');
    expect(payload.comment.body).toBe('/parallel-run all');
    expect(payload.comment.user).toMatchObject({ login: 'alice', type: 'Bot' });
    expect(payload.sender.login).toBe('alice');
  });

  it('adds an installation', () => {
    expect(withInstallation(webhookExample('push'), 77).installation?.id).toBe(77);
  });
});
