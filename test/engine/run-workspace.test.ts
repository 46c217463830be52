import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRun } from '../../src/engine/state/schema.js';
import type { ValidationReport } from '../../src/engine/validate/schema.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { agentEnv, plan, runPlan, scratch, task, type Scratch } from './helpers.js';

let repo: TempRepo;
let box: Scratch;

beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      '.gitignore': '.env\n',
      'shared.txt': 'base\n',
      '.claude/agents/builder.md': 'tracked\n',
    },
  });
  box = await scratch();
});

afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

describe('workspaces', () => {
  it('replicates .env and .claude/ without committing them, runs the setup command, writes the context', async () => {
    await repo.write('.gitignore', '.env*\n.claude/settings.local.json\nlocal/\n');
    await repo.commit('ignore local files');
    await repo.write('.env', 'SECRET=1\n');
    await repo.write('.env.local', 'LOCAL=1\n');
    await repo.write('.claude/settings.local.json', '{"local": true}\n');
    await repo.write('local/keys/dev.json', '{"key": 1}\n');

    const command =
      'cat .env .env.local > seen.txt; cat .claude/settings.local.json local/keys/dev.json >> seen.txt; cat setup.txt >> seen.txt; ' +
      'echo "changed" >> .env; echo "$PE_CONTEXT_FILE" > ctx-path.txt';
    const thePlan = plan([
      task('1', {
        title: 'Build the login',
        criteria: ['Tests pass', 'No lint errors'],
        files: ['src/login.ts'],
        details: 'Use the **existing** session store.',
      }),
    ]);
    const { state } = await runPlan(repo.dir, thePlan, command, {
      settings: {
        setupCommand: 'echo "setup ran" > setup.txt; echo "installing deps"',
        replicate: ['local/keys'],
      },
    });

    const run = state.tasks['1']!;
    expect(run.reason ?? '').toBe('');
    expect(run.status).toBe('completed');
    const seen = await repo.git(['show', `${run.branch}:seen.txt`]);
    expect(seen).toBe('SECRET=1\nLOCAL=1\n{"local": true}\n{"key": 1}\nsetup ran');
    const committed = await repo.git(['ls-tree', '-r', '--name-only', run.branch]);
    expect(committed).not.toMatch(/^\.env|AGENT_CONTEXT|settings\.local/m);
    expect(await readFile(run.log_file, 'utf8')).toContain('installing deps');
    const contextPath = await repo.git(['show', `${run.branch}:ctx-path.txt`]);
    expect(contextPath).toBe(join(run.worktree, 'AGENT_CONTEXT.md'));
    const context = await readFile(contextPath, 'utf8');
    for (const expected of [
      '# Agent Context: Builder-1',
      '## Assigned Task\nBuild the login',
      `## Task ID\n1 (execution ${state.execution_id}, group 1: Group 1)`,
      '## Dependencies Met\n- None',
      '- src/login.ts',
      '- [ ] Tests pass',
      'Use the **existing** session store.',
      '$PE_STATUS_FILE',
      '$PE_MESSAGES_DIR/builder-1/inbox/',
    ]) {
      expect(context).toContain(expected);
    }
  });

  it('fails a task whose dependencies conflict, naming the files, and runs nothing for it', async () => {
    const command =
      'case "$PE_TASK_ID" in a) echo A > shared.txt;; b) echo B > shared.txt;; c) touch ran-c;; esac';
    const thePlan = plan([task('a'), task('b'), task('c', { dependsOn: ['a', 'b'] })]);
    const { state } = await runPlan(repo.dir, thePlan, command);

    expect(state.tasks['c']).toMatchObject({ status: 'failed', attempts: 0 });
    expect(state.tasks['c']!.reason).toBe(
      'merging the work of dependency b conflicts in: shared.txt',
    );
    // The worktree is left clean (merge aborted), at a's work.
    expect(await repo.git(['status', '--porcelain'], state.tasks['c']!.worktree)).toBe('');
  });

  it('fails a task when the setup command fails', async () => {
    const { state } = await runPlan(repo.dir, plan([task('a')]), 'true', {
      settings: { setupCommand: 'echo "no network" >&2; exit 4' },
    });
    expect(state.tasks['a']!.reason).toMatch(/^setup command failed \(exit 4\)/);
    expect(await readFile(state.tasks['a']!.log_file, 'utf8')).toContain('no network');
  });
});

describe('messages between agents', () => {
  it('delivers through inbox folders, records and tracks acknowledgement', async () => {
    // a sends to b's inbox; b waits for it, reads it and acknowledges by deleting it.
    const command = [
      'if [ "$PE_TASK_ID" = a ]; then',
      '  printf \'{"message_id":"msg_001","from_agent":"builder-a","to_agent":"builder-b","message_type":"interface_contract","payload":{"interface":"IUserService"}}\' > "$PE_MESSAGES_DIR/builder-b/inbox/.tmp";',
      '  mv "$PE_MESSAGES_DIR/builder-b/inbox/.tmp" "$PE_MESSAGES_DIR/builder-b/inbox/msg_001.json";',
      '  printf \'{"message_id":"msg_002","from_agent":"builder-a","to_agent":"nobody"}\' > "$PE_MESSAGES_DIR/builder-b/inbox/msg_002.json";',
      'else',
      '  for i in $(seq 50); do [ -f "$PE_INBOX/msg_001.json" ] && break; sleep 0.1; done;',
      '  cp "$PE_INBOX/msg_001.json" got.json && sleep 0.3 && rm "$PE_INBOX/msg_001.json";',
      'fi',
    ].join('\n');
    const { state, events } = await runPlan(repo.dir, plan([task('a'), task('b')]), command, {
      settings: { messageAckTimeoutMs: 200 },
      env: agentEnv(),
    });

    expect(state.status).toBe('completed');
    const got = await repo.git(['show', `${state.tasks['b']!.branch}:got.json`]);
    expect(JSON.parse(got)).toMatchObject({ payload: { interface: 'IUserService' } });
    const first = state.messages.find((m) => m.message_id === 'msg_001')!;
    expect(first).toMatchObject({ from_agent: 'builder-a', to_agent: 'builder-b' });
    expect(first.acknowledged_at).not.toBeNull();
    const second = state.messages.find((m) => m.message_id === 'msg_002')!;
    expect(second.acknowledged_at).toBeNull();
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'message-escalated',
        message: expect.objectContaining({ message_id: 'msg_002' }),
      }),
    );
  });
});

describe('hooks for validation and integration', () => {
  it('validates each collected task, fails it on a FAILED report, and calls onAllSettled once', async () => {
    const seen: string[] = [];
    let settled = 0;
    const report = (run: TaskRun, status: ValidationReport['status']): ValidationReport => ({
      agent: run.agent,
      task_id: run.task_id,
      status,
      overall_passed: status !== 'FAILED',
      checks: [
        {
          name: 'tests',
          command: 'npm test',
          exitCode: status === 'FAILED' ? 1 : 0,
          passed: status !== 'FAILED',
          skipped: false,
          note: null,
          critical: true,
          durationMs: 1,
          outputFile: null,
        },
      ],
      coverage: null,
      tests: null,
      audit: null,
      validations: {},
    });
    const thePlan = plan([task('a'), task('b'), task('c', { dependsOn: ['b'] })]);
    const { state } = await runPlan(repo.dir, thePlan, 'echo x > "f-$PE_TASK_ID"', {
      hooks: {
        onTaskCollected: async (run, st) => {
          seen.push(`${run.task_id}:${st.tasks[run.task_id]!.status}:${run.head_sha !== null}`);
          return report(run, run.task_id === 'b' ? 'FAILED' : 'COMPLETE_VALIDATED');
        },
        onAllSettled: async (st) => {
          settled += 1;
          st.report_path = 'reports/x.md';
        },
      },
    });
    expect(seen.sort()).toEqual(['a:validating:true', 'b:validating:true']);
    expect(state.tasks['a']).toMatchObject({
      status: 'completed',
      validation: { status: 'COMPLETE_VALIDATED' },
    });
    expect(state.tasks['b']).toMatchObject({
      status: 'failed',
      reason: 'validation failed: tests',
    });
    expect(state.tasks['c']).toMatchObject({ status: 'skipped', reason: 'dependency b failed' });
    expect(settled).toBe(1);
    expect(state.report_path).toBe('reports/x.md');
  });
});

describe("the tool's files kept out of git", () => {
  it('are excluded once for all the tasks that start together (one check-ignore in the repository)', async () => {
    const trace = box.file('trace.json');
    process.env['GIT_TRACE2_EVENT'] = trace;
    const tasks = ['1', '2', '3', '4'].map((id) => task(id));
    const { state } = await runPlan(repo.dir, plan(tasks), 'true').finally(
      () => delete process.env['GIT_TRACE2_EVENT'],
    );
    expect(state.status).toBe('completed');
    // Joined by session: each git process's argv and the worktree it ran in.
    const events = (await readFile(trace, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as { sid: string; event: string; argv?: string[]; worktree?: string },
      );
    const where = new Map(
      events.filter((e) => e.event === 'def_repo').map((e) => [e.sid, e.worktree]),
    );
    const inRepository = events.filter(
      (e) =>
        e.event === 'start' &&
        e.argv?.includes('check-ignore') === true &&
        e.argv.includes('--stdin') &&
        where.get(e.sid) === repo.dir,
    );
    expect(inRepository).toHaveLength(1);
    const exclude = await readFile(join(repo.dir, '.git', 'info', 'exclude'), 'utf8');
    expect(exclude.match(/^\/AGENT_CONTEXT\.md$/gm)).toHaveLength(1);
  });
});
