/**
 * A serverless entry: a Node `(req, res)` handler for functions platforms (Vercel, Netlify,
 * AWS Lambda behind an adapter). Configuration comes from the same environment variables as
 * `npm start`; signatures are verified by Probot's middleware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createNodeMiddleware, createProbot } from 'probot';
import { createApp, type AppOptions } from './app.js';
import { AppOctokit } from './octokit.js';

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export async function createServerlessHandler(
  options: {
    env?: Record<string, string | undefined>;
    app?: AppOptions;
    webhooksPath?: string;
  } = {},
): Promise<NodeHandler> {
  const probot = createProbot({
    ...(options.env ? { env: options.env } : {}),
    overrides: { Octokit: AppOctokit },
  });
  const middleware = await createNodeMiddleware(createApp(options.app).appFn, {
    probot,
    ...(options.webhooksPath ? { webhooksPath: options.webhooksPath } : {}),
  });
  return async (request, response) => {
    const handled = await middleware(request, response);
    if (handled) return;
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}
