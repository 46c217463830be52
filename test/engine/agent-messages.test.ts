import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/engine/report/render.js';
import { agentEnv, plan, runPlan, task } from './helpers.js';
import { useRepoAndScratch } from './repo-fixture.js';

const fx = useRepoAndScratch();

/** `send <to> <id>`: a message as the context says to write one (temp name, then rename). */
const SEND =
  'send() { d="$PE_MESSAGES_DIR/$1/inbox"; mkdir -p "$d"; ' +
  'printf \'{"message_id": "%s", "from_agent": "%s", "to_agent": "%s", "message_type": "note", "payload": {"from_task": "%s"}}\' "$2" "$(basename "$(dirname "$PE_INBOX")")" "$1" "$PE_TASK_ID" > "$d/.$2.tmp"; ' +
  'mv "$d/.$2.tmp" "$d/$2.json"; }; ';

describe('messages between agents', () => {
  it('are exchanged by agents running at the same time: read, acknowledged, reported', async () => {
    // a sends to b; b waits for it (as its context says: before each subtask), keeps what it read
    // and acknowledges it.
    const command =
      SEND +
      'if [ "$PE_TASK_ID" = a ]; then send builder-b hello-b; fi; ' +
      'if [ "$PE_TASK_ID" = b ]; then i=0; while [ ! -e "$PE_INBOX/hello-b.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ' +
      'cp "$PE_INBOX/hello-b.json" read.json; touch "$PE_INBOX/hello-b.json.ack"; fi; ' +
      'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"';
    const { state } = await runPlan(
      fx.repo.dir,
      plan([task('a', { agents: ['Builder-a'] }), task('b', { agents: ['Builder-b'] })]),
      command,
    );
    expect(state.status).toBe('completed');
    const read = JSON.parse(await fx.repo.git(['show', `${state.tasks['b']!.branch}:read.json`]));
    expect(read).toMatchObject({
      from_agent: 'builder-a',
      to_agent: 'builder-b',
      payload: { from_task: 'a' },
    });
    expect(state.messages).toHaveLength(1);
    expect(state.messages[0]!.acknowledged_at).not.toBeNull();
    expect(state.messages[0]!.undelivered ?? null).toBeNull();
    expect(state.tasks['a']!.warnings ?? []).toEqual([]);
  });

  it('to an agent that has finished, or to no agent of the run, are never delivered: the sender and the report are told', async () => {
    // b runs after a has finished and writes to it, and to an agent the plan does not have.
    const command =
      SEND +
      'if [ "$PE_TASK_ID" = b ]; then send builder-a late-for-a; send ghost to-nobody; sleep 0.5; fi; ' +
      'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"';
    const { state, events } = await runPlan(
      fx.repo.dir,
      plan([
        task('a', { agents: ['Builder-a'] }),
        task('b', { agents: ['Builder-b'], dependsOn: ['a'] }),
      ]),
      command,
    );
    expect(state.status).toBe('completed');
    const byId = new Map(state.messages.map((m) => [m.message_id, m]));
    expect(byId.get('late-for-a')).toMatchObject({
      acknowledged_at: null,
      undelivered: 'builder-a had finished without reading it',
    });
    expect(byId.get('to-nobody')).toMatchObject({
      undelivered: 'ghost is not an agent of this execution',
    });
    // A warning on the sender's task, as it ran.
    const warnings = state.tasks['b']!.warnings ?? [];
    expect(warnings).toContain(
      'message late-for-a from builder-b to builder-a was never delivered: builder-a had finished without reading it',
    );
    expect(warnings).toContain(
      'message to-nobody from builder-b to ghost was never delivered: ghost is not an agent of this execution',
    );
    expect(state.tasks['a']!.warnings ?? []).toEqual([]);
    expect(
      events.filter(
        (e) => e.type === 'warning' && e.taskId === 'b' && /never delivered/.test(e.message),
      ),
    ).toHaveLength(2);
    const report = renderReport(state);
    expect(report).toContain(
      '**Messages between agents**: 2, 2 never acknowledged (2 never delivered)',
    );
    expect(report).toMatch(
      /builder-b → builder-a \(note\): .*; never delivered: builder-a had finished without reading it/,
    );
  });

  it('give each agent an example addressed to another agent, and say when to look at the inbox', async () => {
    const command =
      'cp "$PE_CONTEXT_FILE" "$CONTEXTS/$PE_TASK_ID.md"; echo x > "out-$PE_TASK_ID.txt"';
    const contexts = fx.box.file('contexts');
    await mkdir(contexts);
    await runPlan(
      fx.repo.dir,
      plan([task('1', { agents: ['Builder-1'] }), task('2', { agents: ['Builder-2'] })]),
      command,
      { env: agentEnv({ CONTEXTS: contexts }) },
    );
    const second = await readFile(join(contexts, '2.md'), 'utf8');
    expect(second).toContain('"from_agent": "builder-2", "to_agent": "builder-1"');
    expect(second).not.toContain('"to_agent": "builder-2"');
    expect(second).toContain(
      'Look at your inbox before you start each subtask, and whenever you are blocked',
    );
    expect(second).toContain('Other agents in this execution: `builder-1`.');
    const first = await readFile(join(contexts, '1.md'), 'utf8');
    expect(first).toContain('"from_agent": "builder-1", "to_agent": "builder-2"');

    // Alone in its run: a neutral placeholder, and no promise of anyone to talk to.
    const alone = join(contexts, 'alone');
    await mkdir(alone);
    await runPlan(fx.repo.dir, plan([task('3', { agents: ['Builder-3'] })]), command, {
      env: agentEnv({ CONTEXTS: alone }),
    });
    const only = await readFile(join(alone, '3.md'), 'utf8');
    expect(only).toContain('"to_agent": "<another-agent>"');
    expect(only).toContain('You are the only agent of this execution: there is nobody to message.');
  });
  it('named pipes an agent leaves for a status file or as messages never hang the run', async () => {
    // A FIFO read the blocking way never returns: one per thread-pool thread would stop every
    // file operation of the orchestrator. The agent puts six into b's inbox and makes its own
    // status file one, then reports progress through a real file again.
    const command =
      'if [ "$PE_TASK_ID" = a ]; then d="$PE_MESSAGES_DIR/builder-b/inbox"; mkdir -p "$d"; ' +
      'for i in 1 2 3 4 5 6; do mkfifo "$d/pipe-$i.json"; done; ' +
      'rm -f "$PE_STATUS_FILE"; mkfifo "$PE_STATUS_FILE"; sleep 1.2; rm -f "$PE_STATUS_FILE"; ' +
      'printf \'{"progress_percent": 70, "current_step": "after the pipe"}\' > "$PE_STATUS_FILE"; sleep 0.8; fi; ' +
      'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"';
    const started = Date.now();
    const { state, events } = await runPlan(
      fx.repo.dir,
      plan([task('a', { agents: ['Builder-a'] }), task('b', { agents: ['Builder-b'] })]),
      command,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(state.status).toBe('completed');
    expect(state.tasks['a']!.status).toBe('completed');
    expect(state.tasks['b']!.status).toBe('completed');
    // The real status written after the pipe was read.
    expect(
      events.some(
        (event) =>
          event.type === 'task-progress' && event.taskId === 'a' && event.step === 'after the pipe',
      ),
    ).toBe(true);
    // The pipes were not taken for messages.
    expect(state.messages).toEqual([]);
  }, 60_000);
});
