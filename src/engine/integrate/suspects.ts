import { readFileTail } from '../file-tail.js';
import type { IntegrationSession } from './session.js';
import type { TestRunRecord } from './test-runs.js';
import { escapeRegExp } from '../regexp.js';

/** How much of a failing run's output is read for file names (its end, where failures are). */
const OUTPUT_TAIL = 512 * 1024;

/** A file stem shorter than this (`a`, `io`) would match too much output to mean anything. */
const MIN_STEM = 3;

/**
 * Which merged tasks to test first when the tests fail: those named up front (interaction risks),
 * and those whose changed files the failing output mentions, by path, by file name or by stem as a
 * word (`src/parse.ts` changed, `parse.test.ts` failed). A wrong guess costs one test run; a right
 * one saves the whole bisection.
 */
export function suspectFinder(
  session: IntegrationSession,
  named: readonly string[],
): (failing: TestRunRecord) => Promise<Set<string>> {
  const changed = new Map<string, string[]>();
  const filesOf = async (taskId: string, sha: string): Promise<string[]> => {
    const known = changed.get(taskId);
    if (known !== undefined) return known;
    const out = await session.repo.run(['diff', '--name-only', '-z', session.baseSha, sha, '--']);
    const files = out.stdout.split('\0').filter(Boolean);
    changed.set(taskId, files);
    return files;
  };
  return async (failing) => {
    const suspects = new Set(named);
    const output = (await readFileTail(failing.outputFile, OUTPUT_TAIL)) ?? '';
    if (output === '') return suspects;
    for (const link of session.chain) {
      const files = await filesOf(link.candidate.taskId, link.sha);
      if (files.some((file) => mentions(output, file))) suspects.add(link.candidate.taskId);
    }
    return suspects;
  };
}

function mentions(output: string, file: string): boolean {
  if (output.includes(file)) return true;
  const name = file.slice(file.lastIndexOf('/') + 1);
  const stem = name.replace(/\..*$/, '');
  if (stem.length < MIN_STEM) return false;
  return new RegExp(`(^|[^A-Za-z0-9_-])${escapeRegExp(stem)}($|[^A-Za-z0-9_-])`).test(output);
}
