#!/usr/bin/env node
// Built by `npm run build` (npm ci runs it through the `prepare` script).
import '../lib/cli/bin.js';
