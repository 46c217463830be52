import type { Found } from './check.js';
import { CHECKS } from './checks.js';
import { readJsProject, scriptCommand, type JsProject } from './detect-js.js';
import { detectLanguages, type LanguageDefaults } from './detect-languages.js';
import { readMakefile, type Makefile } from './detect-make.js';
import { CheckName, type ValidationConfig } from './schema.js';

export type { ValidationConfig };

export interface DetectedCheck {
  name: CheckName;
  /** Trusted shell text (the user's config, their package.json or a fixed command), or null when skipped. */
  command: string | null;
  /** Where the command came from, or why the check is skipped — shown to the user as is. */
  note: string;
  critical: boolean;
}

/** The order checks run in: cheap and informative first, the build last (as the seed does). */
export const CHECK_ORDER: readonly CheckName[] = CheckName.options;

/** What `npm init` writes: a test script that always fails. It is not a test suite. */
const NPM_INIT_TEST = /no test specified/;

/** What the worktree holds that says how to check it. */
interface RepositoryFacts {
  js: JsProject;
  makefile: Makefile | null;
  languages: LanguageDefaults[];
}

/**
 * Decide the command for each check. The config wins (`false` turns a check off); otherwise the
 * repository says, first match per check: package.json scripts (run with the package manager its
 * lockfile or `packageManager` field names), then Makefile targets, then the usual commands of a
 * Rust, Go or Python project. The audit comes from the JavaScript lockfile (npm, pnpm, Yarn
 * classic). Every check is returned, skipped ones with the reason, so the output can say what was
 * found.
 */
export async function detectChecks(
  worktree: string,
  config: ValidationConfig,
): Promise<DetectedCheck[]> {
  const facts: RepositoryFacts = {
    js: await readJsProject(worktree),
    makefile: await readMakefile(worktree),
    languages: await detectLanguages(worktree),
  };
  const critical = new Set<CheckName>(config.critical);
  return CHECK_ORDER.map((name) => {
    const configured = config[name];
    const base = { name, critical: critical.has(name) };
    if (configured === false) {
      return { ...base, command: null, note: 'skipped: disabled in .github/parallel-executor.yml' };
    }
    if (configured !== undefined) {
      return { ...base, command: configured, note: 'from .github/parallel-executor.yml' };
    }
    return { ...base, ...(CHECKS[name].fromRepository?.(facts.js) ?? fromRepository(name, facts)) };
  });
}

function fromRepository(name: CheckName, facts: RepositoryFacts): Found {
  const misses: string[] = [];
  const script = fromScripts(name, facts.js);
  if ('command' in script) return script;
  if (script.miss !== null) misses.push(script.miss);

  const target = CHECKS[name].makeTarget;
  if (facts.makefile !== null && target !== null) {
    if (facts.makefile.targets.has(target)) {
      return { command: `make ${target}`, note: `${facts.makefile.name} target "${target}"` };
    }
    misses.push(`no "${target}" target in ${facts.makefile.name}`);
  }

  for (const language of facts.languages) {
    const found = language.commands[name];
    if (found !== undefined) return { command: found.command, note: found.note };
    const missing = language.missing[name];
    if (missing !== undefined) misses.push(missing);
  }
  if (misses.length > 0) return { command: null, note: `skipped: ${misses.join('; ')}` };
  const seen = [
    ...(facts.makefile === null ? [] : [facts.makefile.name]),
    ...facts.languages.map((language) => language.language),
  ];
  if (seen.length > 0) {
    return { command: null, note: `skipped: no usual ${name} command for ${seen.join(', ')}` };
  }
  return { command: null, note: `skipped: ${NOTHING_FOUND}` };
}

const NOTHING_FOUND = 'no package.json, Makefile, Cargo.toml, go.mod or Python project';

/** A command from package.json, or why not (null: there is no package.json). */
function fromScripts(name: CheckName, js: JsProject): Found | { miss: string | null } {
  const { scripts, manager } = js;
  if (scripts === null) return { miss: null };
  const candidates = CHECKS[name].scripts;
  if (candidates.length === 0) return { miss: null };
  if (scripts === 'invalid') {
    // Run the usual command anyway: the package manager fails on the broken file, and the check shows why.
    return {
      command: scriptCommand(manager.name, candidates[0]!),
      note: 'package.json is not valid JSON',
    };
  }
  const script = candidates.find((candidate) => scripts[candidate] !== undefined);
  if (script === undefined) {
    const wanted = candidates.map((candidate) => `"${candidate}"`).join(' or ');
    return { miss: `no ${wanted} script in package.json` };
  }
  if (name === 'tests' && NPM_INIT_TEST.test(scripts[script] ?? '')) {
    return { miss: 'package.json "test" is the npm init placeholder' };
  }
  const runner = manager.name === 'npm' ? '' : `, run with ${manager.name} (${manager.source})`;
  return {
    command: scriptCommand(manager.name, script),
    note: `package.json script "${script}"${runner}`,
  };
}

/** One line per check, for the shells to print: what runs and where it came from, or why not. */
export function describeChecks(checks: readonly DetectedCheck[]): string[] {
  return checks.map((check) => `${check.name}: ${checkText(check)}`);
}

/** A check's command and where it came from (`gap` before that), or why it is skipped. */
export function checkText(check: DetectedCheck, gap = ' '): string {
  return check.command === null
    ? check.note
    : `${check.command}${gap}(${check.note}${check.critical ? ', critical' : ''})`;
}
