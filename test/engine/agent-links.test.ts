import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linksOutside } from '../../src/engine/collect/collect.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { agentEnv, plan, runPlan, task } from './helpers.js';

let repo: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'src/app.txt': 'app\n', 'docs/readme.txt': 'r\n' } });
});

afterEach(async () => {
  await repo.cleanup();
});

const COMMIT = 'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';

describe('symbolic links an agent adds', () => {
  it('merges them, with a warning naming those that point outside the repository or into .git', async () => {
    // Committed: one to an absolute path, one inside. Left uncommitted (collection commits them):
    // one climbing past the top, one into .git, one that climbs but stays inside.
    const command =
      'ln -s /etc/hostname host && ln -s ../app.txt src/inside && git add -A && ' +
      `${COMMIT} commit -qm links && ` +
      'ln -s ../../../outside docs/up && ln -s ../.git/config docs/cfg && ln -s ../src/app.txt docs/ok';
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, { env: agentEnv() });
    const run = state.tasks['1']!;
    expect(run.status).toBe('completed');
    const warning = run.warnings?.find((text) => text.includes('symbolic links'));
    expect(warning).toBeDefined();
    expect(warning).toContain('host -> /etc/hostname');
    expect(warning).toContain('docs/up -> ../../../outside');
    expect(warning).toContain('docs/cfg -> ../.git/config');
    expect(warning).not.toContain('src/inside');
    expect(warning).not.toContain('docs/ok');
    // A warning, not a failure: the links are on the branch, as links.
    expect(await repo.git(['ls-tree', run.branch, 'host'])).toMatch(/^120000 /);
  });

  it('reads a link whose target changed, and says nothing of a deleted link or a file holding a path', async () => {
    const diff =
      'diff --git a/old b/old\ndeleted file mode 120000\nindex 1234567..0000000\n--- a/old\n+++ /dev/null\n@@ -1 +0,0 @@\n-/etc/passwd\n\\ No newline at end of file\n' +
      'diff --git a/f.txt b/f.txt\nnew file mode 100644\nindex 0000000..1234567\n--- /dev/null\n+++ b/f.txt\n@@ -0,0 +1 @@\n+/etc/passwd\n';
    expect(linksOutside(diff)).toEqual([]);
    // A link whose target changed (mode unchanged) is read too.
    const changed =
      'diff --git a/l b/l\nindex 1234567..89abcde 120000\n--- a/l\n+++ b/l\n@@ -1 +1 @@\n-inside.txt\n\\ No newline at end of file\n+/root/.ssh/id_rsa\n\\ No newline at end of file\n';
    expect(linksOutside(changed)).toEqual(['l -> /root/.ssh/id_rsa']);
  });
});
