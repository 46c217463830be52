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

/** Lines of `after` that differ from `before`, compared line by line (same line count expected). */
export function changedLines(before: string, after: string): number[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const changed: number[] = [];
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    if (a[index] !== b[index]) changed.push(index + 1);
  }
  return changed;
}
