/**
 * What an agent writes into the git config every worktree shares (`.git/config`), and into the
 * shared `.git/info/attributes` and hooks folder, is not run by the tool's own git and does not
 * change what it commits or merges: fsmonitor, hooks, an external diff, textconv, a clean
 * filter, a merge driver that says every merge went cleanly.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, runPlan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
let box: Scratch;
beforeEach(async () => {
  repo = await createTempRepo({
    files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n', 'shared.txt': 'base\n' },
  });
  box = await scratch();
});
afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

/** Shell: the repository's common git folder, from inside a task's worktree. */
const COMMON = '"$(git rev-parse --git-common-dir)"';

/** Every file an agent's command left in the scratch folder: `name: lines`. */
async function evidence(): Promise<string[]> {
  const names = await readdir(box.dir);
  return Promise.all(names.map(async (name) => `${name}: ${await box.read(name)}`));
}

describe("an agent's git config", () => {
  it("runs nothing in the tool's git and changes nothing the tool commits for another task", async () => {
    const S = box.dir;
    // Task a sets it all up and ends; then task b writes its file, which the tool commits.
    const setUp = [
      `git config core.fsmonitor "echo fsmonitor >> ${S}/fsmonitor; exit 1"`,
      `git config filter.x.clean "echo clean >> ${S}/clean; sed s/b/EVIL/"`,
      `git config diff.external "${S}/never-there"`,
      `git config diff.x.textconv "echo textconv >> ${S}/textconv; cat"`,
      `mkdir -p ${COMMON}/info ${COMMON}/hooks`,
      `printf '* filter=x diff=x\\n' >> ${COMMON}/info/attributes`,
      `printf '#!/bin/sh\\necho hook >> ${S}/hook\\n' > ${COMMON}/hooks/reference-transaction`,
      `chmod +x ${COMMON}/hooks/reference-transaction`,
      'echo a > a.txt',
    ].join(' && ');
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 1; echo b > b.txt; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);

    // Read before any git of the test's own runs in the repository.
    expect(await evidence()).toEqual([]);
    expect(state.tasks['a']!.status).toBe('completed');
    expect(state.tasks['b']).toMatchObject({ status: 'completed', reason: null });
    const branch = state.tasks['b']!.branch;
    expect(
      await repo.git(['-c', 'core.hooksPath=/dev/null', 'cat-file', 'blob', `${branch}:b.txt`]),
    ).toBe('b');
    // The change is named (the user's own git runs them from now on).
    expect(state.checkout_changes?.join('\n')).toMatch(
      /core\.fsmonitor set \(git runs its command at every status in your checkout\), filter\.x\.clean set \(git runs it on add and checkout\), diff\.external set \(git diff runs it\), diff\.x\.textconv set \(git diff runs it\); your own git acts on them from now on/,
    );
  });

  it("a filter set in a file the config includes, or in another task's config.worktree, does not run either", async () => {
    const S = box.dir;
    const setUp = [
      `printf '[filter "x"]\\n\\tclean = "echo included >> ${S}/included; cat"\\n' > ${S}/evil.cfg`,
      `git config include.path ${S}/evil.cfg`,
      'git config extensions.worktreeConfig true',
      `for d in ${COMMON}/worktrees/*; do printf '[filter "y"]\\n\\tclean = "echo per-worktree >> ${S}/per-worktree; cat"\\n' > "$d/config.worktree"; done`,
      `mkdir -p ${COMMON}/info && printf '*.txt filter=x\\n*.md filter=y\\n' >> ${COMMON}/info/attributes`,
      'echo a > a.txt',
    ].join(' && ');
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 1; echo b > b.txt; echo b > b.md; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);
    expect((await evidence()).filter((line) => !line.startsWith('evil.cfg'))).toEqual([]);
    expect(state.tasks['b']).toMatchObject({ status: 'completed', reason: null });
  });

  it("core.worktree set in the shared config does not move the tool's git at the checkout's top, and the change says how to undo it", async () => {
    const other = `${box.dir}/elsewhere`;
    await mkdir(other);
    const command = `if [ "$PE_TASK_ID" = a ]; then git config core.worktree ${other}; echo a > a.txt; else sleep 1; echo b > b.txt; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);

    expect(state.tasks['a']!.status).toBe('completed');
    expect(state.tasks['b']!.status).toBe('completed');
    // The checkout watch looked at the checkout, not at the empty folder: nothing was deleted.
    const changes = state.checkout_changes ?? [];
    expect(changes.filter((c) => c.includes('was deleted in your checkout'))).toEqual([]);
    expect(changes.join('\n')).toMatch(
      /core\.worktree set \(your git in your checkout works on the folder it names instead: git status there shows your files deleted.*undo with git config --local --unset core\.worktree\)/,
    );
    // The user's own git does follow it until it is undone as the change says.
    expect(await repo.git(['status', '--short'])).toContain('D README.md');
    await repo.git(['config', '--local', '--unset', 'core.worktree']);
    expect(await repo.git(['status', '--short'])).toBe('');
  });

  it('a filter written later into a file the config already included, or into one it includes by a relative path, does not run', async () => {
    const S = box.dir;
    // The user's own include, there before the run, harmless then.
    await writeFile(`${S}/user.cfg`, '[user]\n\tname = Someone\n');
    await repo.git(['config', 'include.path', `${S}/user.cfg`]);
    // Task a leaves .git/config as it was and edits the file it includes; task c names a file
    // beside it by a relative path (git reads it from the config's folder).
    const setUp = [
      `printf '[filter "x"]\\n\\tclean = "echo edited >> ${S}/edited; cat"\\n' >> ${S}/user.cfg`,
      `mkdir -p ${COMMON}/info && printf '*.txt filter=x\\n*.md filter=z\\n' >> ${COMMON}/info/attributes`,
      'echo a > a.txt',
    ].join(' && ');
    const relative = [
      `printf '[filter "z"]\\n\\tclean = "echo relative >> ${S}/relative; cat"\\n' > ${COMMON}/evil.cfg`,
      'git config --add include.path evil.cfg',
      'echo c > c.txt',
    ].join(' && ');
    const command = `case "$PE_TASK_ID" in a) ${setUp};; c) sleep 0.3; ${relative};; *) sleep 1.5; echo b > b.txt; echo b > b.md;; esac`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b'), task('c')]), command);
    expect((await evidence()).filter((line) => !line.startsWith('user.cfg'))).toEqual([]);
    expect(state.tasks['b']).toMatchObject({ status: 'completed', reason: null });
    // The user's own git reads the edited file: the change is named.
    expect(state.checkout_changes?.join('\n')).toContain(
      `${S}/user.cfg changed; it is included by the repository's git config`,
    );
  });

  it('a filter in a file a relative include.path names, written after the include, does not run either', async () => {
    const S = box.dir;
    // What `git lfs install --local` writes, with no git-lfs here: a required filter that fails.
    const lfs = `[filter "lfs"]\\n\\tclean = "echo lfs >> ${S}/lfs; git-lfs clean -- %%f"\\n\\trequired = true\\n`;
    const setUp = [
      'g="$(pwd -P)/agent.gitconfig"; : > "$g"',
      `git config include.path "$(realpath --relative-to=${COMMON} "$g")"`,
      `mkdir -p ${COMMON}/info && printf '*.txt filter=lfs\\n' >> ${COMMON}/info/attributes`,
      'sleep 0.5',
      `printf '${lfs}' > "$g"`,
    ].join(' && ');
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 1.5; echo b > b.txt; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);
    expect(await evidence()).toEqual([]);
    expect(state.tasks['a']).toMatchObject({ status: 'completed', reason: null });
    expect(state.tasks['b']).toMatchObject({ status: 'completed', reason: null });
    const branch = state.tasks['b']!.branch;
    expect(await repo.git(['cat-file', 'blob', `${branch}:b.txt`])).toBe('b');
  });

  it("core.autocrlf an agent set does not change the line ends of another task's files", async () => {
    const setUp = 'git config core.autocrlf true && echo a > a.txt';
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 1; printf 'b\\r\\nb\\r\\n' > b.txt; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);
    expect(state.tasks['b']).toMatchObject({ status: 'completed', reason: null });
    const branch = state.tasks['b']!.branch;
    const blob = await repo.git(['rev-parse', `${branch}:b.txt`]);
    const bytes = await repo.git(['cat-file', '-s', blob]);
    expect(bytes).toBe('6');
    expect(state.checkout_changes?.join('\n')).toMatch(
      /core\.autocrlf set \(your add and checkout change line ends\)/,
    );
  });

  it('a merge driver an agent set does not hide a conflict between two tasks', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const S = box.dir;
    const setUp = [
      `git config merge.x.driver "echo merge >> ${S}/merge; true"`,
      `mkdir -p ${COMMON}/info`,
      `printf 'shared.txt merge=x\\n' >> ${COMMON}/info/attributes`,
      'echo a > shared.txt',
    ].join(' && ');
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 0.5; echo b > shared.txt; fi`;
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', command, '--json'],
      repo.dir,
    );
    expect(await evidence()).toEqual([]);
    const doc = JSON.parse(result.stdout) as {
      integration: { merged: string[]; conflicts: Array<{ taskId: string; files: string[] }> };
    };
    expect(doc.integration.merged).toEqual(['a']);
    expect(doc.integration.conflicts).toEqual([
      expect.objectContaining({ taskId: 'b', files: ['shared.txt'] }),
    ]);
    // The user's config still has it, and the output names it.
    expect(await readFile(`${repo.dir}/.git/config`, 'utf8')).toContain('[merge "x"]');
  });
  it('a merge driver an agent set in one run is not trusted by the next run either, which says so', async () => {
    const S = box.dir;
    await writePlanJson(repo.dir, plan([task('a')]));
    const setUp = [
      `git config merge.x.driver "echo merge >> ${S}/merge; true"`,
      `mkdir -p ${COMMON}/info`,
      `printf 'shared.txt merge=x\\n' >> ${COMMON}/info/attributes`,
      'echo a > a.txt',
    ].join(' && ');
    const first = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', setUp, '--json'],
      repo.dir,
    );
    expect(first.code, first.stderr).toBe(0);
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const command = `if [ "$PE_TASK_ID" = c ]; then echo c > shared.txt; else sleep 0.5; echo d > shared.txt; fi`;
    const second = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', command, '--json'],
      repo.dir,
    );
    expect(await evidence()).toEqual([]);
    const doc = JSON.parse(second.stdout) as {
      integration: { merged: string[]; conflicts: Array<{ taskId: string; files: string[] }> };
    };
    expect(doc.integration.merged).toEqual(['c']);
    expect(doc.integration.conflicts).toEqual([
      expect.objectContaining({ taskId: 'd', files: ['shared.txt'] }),
    ]);
    expect(second.stderr + second.stdout).toMatch(
      /has settings that came while execution exec_\S+ ran or since: merge\.x\.driver\. This run's merges do not use them/,
    );
  });

  for (const [where, setUp] of [
    ['a .gitattributes it commits', `printf 'shared.txt merge=union\\n' > .gitattributes`],
    [
      '.git/info/attributes',
      `mkdir -p ${COMMON}/info && printf 'shared.txt merge=union\\n' >> ${COMMON}/info/attributes`,
    ],
  ]) {
    it(`git's union merge named in ${where} does not hide a conflict between two tasks`, async () => {
      await writePlanJson(repo.dir, plan([task('a'), task('b')]));
      const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp} && echo a > shared.txt; else sleep 0.5; echo b > shared.txt; fi`;
      const result = await cli(
        ['run', '--plan', 'plan.json', '--agent-command', command, '--json'],
        repo.dir,
      );
      const doc = JSON.parse(result.stdout) as {
        integration: { merged: string[]; conflicts: Array<{ taskId: string; files: string[] }> };
        checkoutChanges: string[];
      };
      expect(doc.integration.merged).toEqual(['a']);
      expect(doc.integration.conflicts).toEqual([
        expect.objectContaining({ taskId: 'b', files: ['shared.txt'] }),
      ]);
      if (where === '.git/info/attributes') {
        expect(doc.checkoutChanges.join('\n')).toMatch(
          /info\/attributes changed: its attributes apply to every file of your checkout/,
        );
      }
    });
  }

  it('union the repository uses itself still merges as it says', async () => {
    await repo.write('.gitattributes', 'shared.txt merge=union\n');
    await repo.git(['add', '.gitattributes']);
    await repo.git(['commit', '-qm', 'union for shared.txt']);
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const command = `if [ "$PE_TASK_ID" = a ]; then echo a > shared.txt; else sleep 0.5; echo b > shared.txt; fi`;
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', command, '--json'],
      repo.dir,
    );
    const doc = JSON.parse(result.stdout) as {
      integration: { merged: string[]; conflicts: unknown[]; headSha: string };
    };
    expect(doc.integration.merged).toEqual(['a', 'b']);
    expect(await repo.git(['show', `${doc.integration.headSha}:shared.txt`])).toBe('a\nb');
  });

  it("patterns an agent adds to .git/info/exclude are named, and the files they hide of another task's are kept", async () => {
    const setUp = `mkdir -p ${COMMON}/info && printf '*.ts\\n' >> ${COMMON}/info/exclude && echo a > a.txt`;
    const command = `if [ "$PE_TASK_ID" = a ]; then ${setUp}; else sleep 0.5; echo b > b.ts; fi`;
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), command);
    expect(state.checkout_changes?.join('\n')).toMatch(
      /info\/exclude changed \(the tool's own lines left out\): git add and git status do not see the files its patterns match/,
    );
    const b = state.tasks['b']!;
    // The tool's own file (AGENT_CONTEXT.md, hidden by the tool's own line) is nobody's work.
    for (const run of Object.values(state.tasks)) {
      expect(run.warnings?.join('\n') ?? '').not.toContain('AGENT_CONTEXT.md');
    }
    const warning = b.warnings?.find((text) => text.includes('b.ts')) ?? '';
    expect(warning).toMatch(/\.git\/info\/exclude, which every worktree shares\) hide files/);
    const kept = /they are kept at (\S+)\./.exec(warning)?.[1];
    expect(kept).toBeDefined();
    expect(await repo.git(['show', `${kept}:b.ts`])).toBe('b');
  });
});
