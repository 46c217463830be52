import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePlan } from '../../src/engine/plan/parse.js';
import type { Task } from '../../src/engine/plan/schema.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The corpus of real plans: $PE_SHARED_PLANS, else `shared/plans` beside the repository (how CI
 * checks it out), else the machine-wide copy.
 */
export function sharedPlansDir(): string {
  const fromEnv = process.env.PE_SHARED_PLANS;
  if (fromEnv) return fromEnv;
  const sibling = path.resolve(repoRoot, '../shared/plans');
  return existsSync(sibling) ? sibling : '/work/shared/plans';
}

export function readSharedPlan(name: string): string {
  return readFileSync(path.join(sharedPlansDir(), name), 'utf8');
}

export const seedSkillFile = path.resolve(sharedPlansDir(), '../seed/parallel-executor-skill.md');

export function parse(text: string) {
  return parsePlan(text);
}

export function taskById(tasks: Task[], id: string): Task {
  const task = tasks.find((candidate) => candidate.id === id);
  if (!task) throw new Error(`no task ${id} among ${tasks.map((t) => t.id).join(', ')}`);
  return task;
}

/**
 * A line diff (longest common subsequence): the lines only in `before` and only in `after`, in
 * order. Every other line is byte-identical, including its line ending.
 */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i += 1;
      j += 1;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      added.push(b[j]!);
      j += 1;
    } else {
      removed.push(a[i]!);
      i += 1;
    }
  }
  return { removed, added };
}
