import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return {
    io: { cwd: process.cwd(), env: {}, stdout, stderr, signal: new AbortController().signal },
    out: () => out,
    err: () => err,
  };
}

describe('cli', () => {
  it('rejects an unknown command with exit 2 and the usage', async () => {
    const t = io();
    expect(await main(['frobnicate'], t.io)).toBe(2);
    expect(t.err()).toContain('unknown command "frobnicate"');
    expect(t.err()).toContain('Usage: parallel-executor');
  });
});
