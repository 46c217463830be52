import { isAbsolute, relative } from 'node:path';
import type { AgentEvent } from '../ports/agent-runner.js';

/**
 * Reading an agent CLI's JSON lines (Claude Code's stream-json, Codex's `exec --json`) into the
 * short text lines the dashboard and the log show: tolerant accessors for parsed JSON, and the
 * clipping every shown line goes through.
 */

export type Json = Record<string, unknown>;

const TEXT_LIMIT = 160;

export function parseObject(raw: string): Json | null {
  try {
    return record(JSON.parse(raw));
  } catch {
    return null;
  }
}

export function record(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function number(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function firstLine(value: string): string {
  return value.trim().split('\n')[0]?.trim() ?? '';
}

export function clip(value: string, limit = TEXT_LIMIT): string {
  return value.length > limit ? `${value.slice(0, limit - 1)}…` : value;
}

/** A path inside `cwd` as a relative one (`src/x.ts`); any other path as it is. */
export function displayPath(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const inside = relative(cwd, path);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

/**
 * Output events for a stream line's texts. Every stream line yields at least one event (the
 * fallback when it said nothing): silence is how the orchestrator spots a hung agent.
 */
export function outputLines(outputs: string[], fallback = ''): AgentEvent[] {
  const shown = outputs.length === 0 && fallback !== '' ? [fallback] : outputs;
  return shown.map((line) => ({ type: 'output', line: clip(line) }));
}
