import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureInboxes, scanMessages } from '../../src/engine/monitor/messages.js';
import type { AgentMessage } from '../../src/engine/state/schema.js';
import { scratch, type Scratch } from './helpers.js';

let box: Scratch;
beforeEach(async () => {
  box = await scratch();
});
afterEach(async () => {
  await box.cleanup();
});

describe('message inboxes', () => {
  it('records new messages, notices acknowledgements and escalates the forgotten', async () => {
    const messages: AgentMessage[] = [];
    // Real time: a half-written file is judged by its modification time.
    const base = Date.now();
    const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
    await ensureInboxes(box.dir, ['builder-1', 'builder-2']);
    const inbox = join(box.dir, 'builder-2', 'inbox');
    await writeFile(
      join(inbox, 'msg_001.json'),
      JSON.stringify({
        message_id: 'msg_001',
        timestamp: at(0),
        from_agent: 'builder-1',
        to_agent: 'builder-2',
        message_type: 'interface_contract',
        payload: { interface: 'IUserService' },
      }),
    );
    await writeFile(join(inbox, 'msg_002.json'), JSON.stringify({ from_agent: 'builder-1' }));
    await writeFile(join(inbox, 'partial.json'), '{"message_id": "msg_0');
    const scan = (seconds: number) =>
      scanMessages({
        messagesDir: box.dir,
        messages,
        now: new Date(at(seconds)),
        ackTimeoutMs: 60_000,
      });

    const first = await scan(0.5);
    expect(first.map((e) => e.type)).toEqual(['message', 'message']);
    expect(messages[0]).toMatchObject({
      message_id: 'msg_001',
      to_agent: 'builder-2',
      payload: { interface: 'IUserService' },
      acknowledged_at: null,
      file: 'builder-2/inbox/msg_001.json',
    });
    expect(messages[1]).toMatchObject({ message_id: 'msg_002', to_agent: 'builder-2' });

    await rm(join(inbox, 'msg_001.json'));
    await writeFile(join(inbox, 'msg_002.json.ack'), '');
    await mkdir(join(box.dir, 'builder-1', 'inbox'), { recursive: true });
    await writeFile(
      join(box.dir, 'builder-1', 'inbox', 'late.json'),
      JSON.stringify({ message_id: 'late', timestamp: at(-120) }),
    );
    const second = await scan(30);
    expect(second.map((e) => e.type).sort()).toEqual([
      'message',
      'message',
      'message-acknowledged',
      'message-acknowledged',
      'message-escalated',
    ]);
    expect(messages.find((m) => m.message_id === 'msg_001')!.acknowledged_at).toBe(at(30));
    // The partial file was given time to be finished, then recorded as it is.
    expect(messages.find((m) => m.message_id === 'partial')).toMatchObject({
      message_type: 'invalid',
    });
    // Escalation happens once.
    expect((await scan(40)).filter((e) => e.type === 'message-escalated')).toEqual([]);
  });
});
