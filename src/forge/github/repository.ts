/** Repository-level reads and writes: who may run things, and files on a branch. */
import type { CollaboratorPermission, FileContent, FileWrite, Permission } from '../types.js';
import { NO_PLUGIN_RETRY, statusOf, type GitHubContext } from './context.js';

const WRITE_ROLES = new Set(['admin', 'maintain', 'write']);
const KNOWN: Permission[] = ['admin', 'maintain', 'write', 'triage', 'read', 'none'];

export function createRepositoryApi(ctx: GitHubContext) {
  const { owner, repo } = ctx;
  return {
    async getCollaboratorPermission(user: string): Promise<CollaboratorPermission> {
      const route = 'GET /repos/{owner}/{repo}/collaborators/{username}/permission';
      try {
        const { data } = await ctx.read(route, () =>
          ctx.octokit.request(route, { owner, repo, username: user, request: NO_PLUGIN_RETRY }),
        );
        const roleName = data.role_name ?? null;
        const level =
          KNOWN.find((p) => p === roleName) ?? KNOWN.find((p) => p === data.permission) ?? 'none';
        // A custom role keeps the legacy `permission` it is based on: trust that, not its name.
        const canWrite =
          WRITE_ROLES.has(data.permission) || (roleName !== null && WRITE_ROLES.has(roleName));
        return { permission: level, roleName, canWrite };
      } catch (error) {
        // Not a collaborator (or no such user): no permission, not an outage.
        if (statusOf(error) === 404) return { permission: 'none', roleName: null, canWrite: false };
        throw error;
      }
    },

    async getFile(path: string, ref?: string): Promise<FileContent | null> {
      const route = 'GET /repos/{owner}/{repo}/contents/{path}';
      try {
        const { data } = await ctx.read(route, () =>
          ctx.octokit.request(route, {
            owner,
            repo,
            path,
            ...(ref ? { ref } : {}),
            request: NO_PLUGIN_RETRY,
          }),
        );
        if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
          throw new Error(`${path} at ${ref ?? 'the default branch'} is not a file`);
        }
        return { content: Buffer.from(data.content, 'base64').toString('utf8'), sha: data.sha };
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    },

    async createOrUpdateFile(write: FileWrite): Promise<{ commitSha: string; contentSha: string }> {
      const route = 'PUT /repos/{owner}/{repo}/contents/{path}';
      const body = {
        message: write.message,
        content: Buffer.from(write.content, 'utf8').toString('base64'),
        branch: write.branch,
        ...(write.sha ? { sha: write.sha } : {}),
      };
      if (ctx.dryRun) {
        ctx.wouldSend(route, {
          path: write.path,
          ...body,
          content: `(${write.content.length} characters)`,
        });
        return { commitSha: '', contentSha: '' };
      }
      // Each PUT makes a commit; a repeat after an unknown outcome would make a second one.
      const { data } = await ctx.write(route, false, () =>
        ctx.octokit.request(route, {
          owner,
          repo,
          path: write.path,
          ...body,
          request: NO_PLUGIN_RETRY,
        }),
      );
      return { commitSha: data.commit.sha ?? '', contentSha: data.content?.sha ?? '' };
    },
  };
}
