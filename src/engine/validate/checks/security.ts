import { auditFails, parseAudit } from '../audit.js';
import type { Check, Found, JudgeInput, Verdict } from '../check.js';
import type { JsProject, PackageManagerName } from '../detect-js.js';

export const securityCheck: Check = {
  outputFile: 'security_audit.json',
  scripts: [],
  makeTarget: null,
  fromRepository: auditCommand,
  // Audit JSON must stay parseable; npm prints its warnings on stderr.
  stderrFile: 'security_audit_stderr.txt',
  judge: securityVerdict,
  seedFields: (findings) => ({ critical_vulnerabilities: findings.audit?.critical ?? null }),
};

/**
 * The package manager's audit, for the ones whose JSON audit.ts reads: npm and pnpm
 * (`metadata.vulnerabilities`) and Yarn classic (the `auditSummary` line). Yarn Berry's
 * `yarn npm audit --json` prints the registry's answer as is, whose shape and exit code changed
 * between Yarn versions, and bun's audit is recent: both are left to the config rather than guessed.
 */
function auditCommand(js: JsProject): Found {
  const { name, lockfile, yarnFlavour } = js.manager;
  const configure = 'set validation.security to audit';
  if (lockfile === null) {
    if (js.scripts === null) {
      return { command: null, note: 'skipped: no JavaScript lockfile to audit' };
    }
    return { command: null, note: `skipped: no ${LOCKFILE_OF[name]} for ${name} audit` };
  }
  if (name === 'npm' || name === 'pnpm') {
    const command = `${name} audit --json`;
    return { command, note: `${lockfile} found: ${command}` };
  }
  if (name === 'yarn' && yarnFlavour === 'classic') {
    return {
      command: 'yarn audit --json',
      note: `${lockfile} (Yarn classic) found: yarn audit --json`,
    };
  }
  if (name === 'yarn') {
    const which = yarnFlavour === 'berry' ? 'Yarn Berry' : 'a Yarn of unknown version';
    return {
      command: null,
      note: `skipped: ${lockfile} is ${which}, whose audit output is not read; ${configure}`,
    };
  }
  return { command: null, note: `skipped: ${lockfile} found, bun audit is not read; ${configure}` };
}

const LOCKFILE_OF: Record<PackageManagerName, string> = {
  npm: 'package-lock.json',
  pnpm: 'pnpm-lock.yaml',
  yarn: 'yarn.lock',
  bun: 'bun.lock',
};

/** How an audit that could not run (a registry down) begins its failure: it found nothing wrong. */
export const AUDIT_NOT_RUN = 'the audit could not run';

function securityVerdict({ run, output, auditFailOn: failOn, findings }: JudgeInput): Verdict {
  const reading = parseAudit(output);
  if (reading.kind === 'error') {
    const note = `${AUDIT_NOT_RUN}: ${reading.message}`;
    return { passed: false, note, failure: note };
  }
  if (reading.kind === 'unreadable') {
    // A security command of the user's own that prints no audit JSON we read: its exit code decides.
    const note = 'output is not npm, pnpm or Yarn classic audit JSON; exit code decides';
    return { passed: run.exitCode === 0, note };
  }
  findings.audit = reading.counts;
  const { critical, high, moderate, low } = reading.counts;
  const summary = `${critical} critical, ${high} high, ${moderate} moderate, ${low} low`;
  const note = `${summary} (fails on ${failOn} and above)`;
  if (!auditFails(reading.counts, failOn)) return { passed: true, note };
  return {
    passed: false,
    note,
    failure: `${summary} vulnerabilities (fails on ${failOn} and above)`,
  };
}
