/**
 * The Probot app module: `probot run ./lib/app/index.js` loads its default export. `npm start`
 * runs `main.js` instead, which also sets the app's Octokit (no blind retries of 409s).
 */
import type { ApplicationFunction } from 'probot';
import { createApp } from './app.js';

export { createApp, type AppOptions, type ParallelExecutorApp } from './app.js';
export { AppOctokit } from './octokit.js';

const app: ApplicationFunction = createApp().appFn;
export default app;
