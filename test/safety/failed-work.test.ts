import { afterEach, describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { filesOn, runWithLedger } from './collect-support.js';

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
});
