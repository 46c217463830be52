/**
 * `npm start`: Probot's server (webhook signatures verified with WEBHOOK_SECRET) running the app.
 * Probot reads APP_ID, PRIVATE_KEY(_PATH), WEBHOOK_SECRET, PORT, HOST, LOG_LEVEL, WEBHOOK_PROXY_URL
 * and, for GitHub Enterprise Server (or a local test API), GHE_HOST and GHE_PROTOCOL.
 */
import { run } from 'probot';
import app from './index.js';
import { AppOctokit } from './octokit.js';

await run(app, { Octokit: AppOctokit });
