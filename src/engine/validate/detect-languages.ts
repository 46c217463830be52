import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '../path-exists.js';
import { readText } from './detect-js.js';
import type { CheckName } from './schema.js';

export interface LanguageDefault {
  command: string;
  note: string;
}

/** A language's usual commands per check, and why a check has none. */
export interface LanguageDefaults {
  language: string;
  commands: Partial<Record<CheckName, LanguageDefault>>;
  /** Why a check a user might expect is not run, e.g. Python without pytest. */
  missing: Partial<Record<CheckName, string>>;
}

/**
 * The usual commands of the Rust, Go and Python projects found in the worktree's root, in that
 * order. Only commands the project clearly uses: pytest only with a pytest config or
 * `tests/test_*.py`, ruff only with a ruff config; no clippy (it fails on warnings many crates have).
 */
export async function detectLanguages(worktree: string): Promise<LanguageDefaults[]> {
  const found: LanguageDefaults[] = [];
  if (await pathExists(join(worktree, 'Cargo.toml'))) {
    const note = 'Cargo.toml found';
    found.push({
      language: 'Rust',
      commands: {
        tests: { command: 'cargo test', note },
        build: { command: 'cargo build', note },
      },
      missing: { lint: 'Cargo.toml: no lint by default (cargo clippy is not assumed)' },
    });
  }
  if (await pathExists(join(worktree, 'go.mod'))) {
    const note = 'go.mod found';
    found.push({
      language: 'Go',
      commands: {
        lint: { command: 'go vet ./...', note },
        tests: { command: 'go test ./...', note },
        build: { command: 'go build ./...', note },
      },
      missing: {},
    });
  }
  const python = await detectPython(worktree);
  if (python !== null) found.push(python);
  return found;
}

async function detectPython(worktree: string): Promise<LanguageDefaults | null> {
  const read = (name: string): Promise<string | null> => readText(join(worktree, name));
  const pyproject = await read('pyproject.toml');
  const setupCfg = await read('setup.cfg');
  const toxIni = await read('tox.ini');
  const pytestIni = await read('pytest.ini');
  const testFiles = await pytestFiles(worktree);
  const markers = [pyproject, setupCfg, toxIni, pytestIni].some((text) => text !== null);
  if (!markers && !testFiles) return null;

  const pytestSource =
    pytestIni !== null
      ? 'pytest.ini found'
      : hasSection(pyproject, 'tool.pytest.ini_options')
        ? 'pyproject.toml [tool.pytest.ini_options]'
        : hasSection(setupCfg, 'tool:pytest')
          ? 'setup.cfg [tool:pytest]'
          : hasSection(toxIni, 'pytest')
            ? 'tox.ini [pytest]'
            : testFiles
              ? 'tests/test_*.py found'
              : null;
  const ruffSource = hasSection(pyproject, 'tool.ruff', true)
    ? 'pyproject.toml [tool.ruff]'
    : (await pathExists(join(worktree, 'ruff.toml')))
      ? 'ruff.toml found'
      : (await pathExists(join(worktree, '.ruff.toml')))
        ? '.ruff.toml found'
        : null;
  const commands: LanguageDefaults['commands'] = {};
  const missing: LanguageDefaults['missing'] = {};
  if (pytestSource !== null) {
    commands.tests = { command: 'python3 -m pytest', note: pytestSource };
  } else {
    missing.tests = 'Python project without a pytest config or tests/test_*.py';
  }
  if (ruffSource !== null) {
    commands.lint = { command: 'ruff check .', note: ruffSource };
  } else {
    missing.lint = 'Python project without a ruff config';
  }
  return { language: 'Python', commands, missing };
}

/** A TOML/INI section header `[name]`, or with `nested` also `[name.sub]`. */
function hasSection(text: string | null, name: string, nested = false): boolean {
  if (text === null) return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\s*\\[\\s*${escaped}${nested ? '(\\.[^\\]]+)?' : ''}\\s*\\]`, 'm');
  return pattern.test(text);
}

async function pytestFiles(worktree: string): Promise<boolean> {
  try {
    const names = await readdir(join(worktree, 'tests'));
    return names.some((name) => /^test_.*\.py$/.test(name));
  } catch {
    return false;
  }
}
