import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/app.js';

const manifest = parse(readFileSync(new URL('../../app.yml', import.meta.url), 'utf8')) as {
  name: string;
  default_permissions: Record<string, string>;
  default_events: string[];
};

/** The events the app subscribes to, read from the handlers it registers. */
function registeredEvents(): string[] {
  const names: string[] = [];
  const fakeProbot = {
    on: (event: string | string[]) => names.push(...[event].flat()),
    log: { warn: () => undefined, error: () => undefined },
  };
  void createApp().appFn(fakeProbot as never, { cwd: '.', addHandler: () => undefined } as never);
  return [...new Set(names.map((name) => name.split('.')[0]!))].sort();
}

describe('app.yml', () => {
  it('subscribes to exactly the events the app handles', () => {
    expect([...manifest.default_events].sort()).toEqual(registeredEvents());
  });

  it('asks for least privilege: what the app calls, nothing more', () => {
    expect(manifest.default_permissions).toEqual({
      actions: 'write',
      checks: 'write',
      contents: 'write',
      issues: 'write',
      pull_requests: 'write',
      metadata: 'read',
    });
    expect(manifest.default_permissions).not.toHaveProperty('workflows');
  });
});
