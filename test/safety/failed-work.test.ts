import { afterEach, describe, expect, it } from 'vitest';
import { plan, scratch, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { filesOn, runChecked, runWithLedger } from './collect-support.js';

/** Commit the staged work as the agent, and write the commit in the ledger. */
const COMMIT = [
  'git -c user.name=A -c user.email=a@b.c commit -q',
  'printf \'{"commit":"%s","task":"%s"}\\n\' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"',
];

let repo: TempRepo;
afterEach(() => repo?.cleanup());

describe('a failed agent leaves work behind', () => {
  it('its uncommitted work is kept under a named ref at once, without the secrets the tool copied in', async () => {
    repo = await createTempRepo({ files: { 'README.md': '# r\n', '.gitignore': '.env\n' } });
    await repo.write('.env', 'API_KEY=secret\n');
    const agent = [
      'echo half-done > wip.txt',
      'printf \'{"uncommitted":"wip.txt","content":"half-done\\\\n","task":"%s"}\\n\' "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"',
      'exit 3',
    ].join('; ');
    const run = await runWithLedger(repo, plan([task('1.1')]), agent);
    const failed = run.state.tasks['1.1']!;
    expect(failed.status).toBe('failed');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
    const kept = failed.kept_refs ?? [];
    expect(kept.length).toBe(1);
    expect(kept[0]!.why).toContain('failed attempt');
    expect(await repo.git(['show', `${kept[0]!.ref}:wip.txt`])).toBe('half-done');
    const files = await filesOn(repo, kept[0]!.ref);
    expect(files).not.toContain('.env');
    expect(files).not.toContain('AGENT_CONTEXT.md');
  });

  it('a failed agent that committed everything gets no extra ref: its branch holds it', async () => {
    repo = await createTempRepo();
    const agent =
      'echo done > a.txt && git add a.txt && git -c user.name=A -c user.email=a@b.c commit -qm a && exit 2';
    const run = await runWithLedger(repo, plan([task('1.1')]), agent);
    expect(run.state.tasks['1.1']!.status).toBe('failed');
    expect(run.state.tasks['1.1']!.kept_refs ?? []).toEqual([]);
  });

  it('a failed agent that amended its commit: the commit before the amend is kept, not only in a reflog', async () => {
    repo = await createTempRepo();
    const agent = [
      `echo one > a.txt && git add a.txt && ${COMMIT[0]} -m one && ${COMMIT[1]}`,
      `echo two >> a.txt && git add a.txt && ${COMMIT[0]} --amend -m two && ${COMMIT[1]}`,
      'exit 3',
    ].join('; ');
    const run = await runWithLedger(repo, plan([task('1.1')]), agent);
    const failed = run.state.tasks['1.1']!;
    expect(failed.status).toBe('failed');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
    expect(failed.kept_refs).toHaveLength(1);
    expect(failed.kept_refs![0]!.why).toContain('commits dropped from the branch');
    expect(await repo.git(['show', `${failed.kept_refs![0]!.ref}:a.txt`])).toBe('one');
  });

  it('a first attempt that committed, reset it away and failed: its commit is kept before the retry rewinds the branch', async () => {
    repo = await createTempRepo();
    const box = await scratch();
    try {
      const tried = box.file('tried');
      const agent = [
        `if [ ! -f "${tried}" ]; then touch "${tried}"`,
        `  echo first > first.txt && git add first.txt && ${COMMIT[0]} -m first && ${COMMIT[1]}`,
        '  git reset -q --hard HEAD~1; exit 4',
        'fi',
        `echo second > second.txt && git add second.txt && ${COMMIT[0]} -m second && ${COMMIT[1]}`,
      ].join('\n');
      const run = await runChecked(repo, box.dir, plan([task('1.1')]), agent, {
        settings: { retries: 1 },
      });
      const t = run.state.tasks['1.1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(t.attempts).toBe(2);
      expect(run.invariant.ok, run.invariant.text).toBe(true);
      const first = (t.kept_refs ?? []).find((kept) => kept.why.includes('attempt 1 failed'));
      expect(await repo.git(['show', `${first!.ref}:first.txt`])).toBe('first');
    } finally {
      await box.cleanup();
    }
  });
});
