import { afterEach, beforeEach } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { scratch, type Scratch } from './helpers.js';

/**
 * Registers a fresh temp repository (with `files`, if given) and scratch folder for each test of
 * the file, removed after.
 */
export function useRepoAndScratch(files?: Record<string, string>): {
  readonly repo: TempRepo;
  readonly box: Scratch;
} {
  let repo: TempRepo | null = null;
  let box: Scratch | null = null;
  beforeEach(async () => {
    repo = await createTempRepo(files ? { files } : {});
    box = await scratch();
  });
  afterEach(async () => {
    await repo?.cleanup();
    await box?.cleanup();
    repo = null;
    box = null;
  });
  const inside = (what: string) =>
    new Error(`useRepoAndScratch: the ${what} exists only inside a test`);
  return {
    get repo() {
      if (!repo) throw inside('repository');
      return repo;
    },
    get box() {
      if (!box) throw inside('scratch folder');
      return box;
    },
  };
}
