import { describe, expect, it } from 'vitest';
import { capText, chunk, COMMENT_LIMIT } from '../../src/forge/limits.js';
import { commentMarker, withMarker } from '../../src/forge/markers.js';

describe('capText', () => {
  it('keeps text that fits', () => {
    expect(capText('short', 10)).toEqual({ text: 'short', cut: 0 });
  });

  it('cuts at a line break below the limit and says how much was left out', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
    const text = lines.join('\n');
    const { text: capped, cut } = capText(text, COMMENT_LIMIT, 'see the artifact');
    expect(capped.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(cut).toBeGreaterThan(0);
    const kept = capped.slice(0, capped.indexOf('\n\n---\n'));
    expect(text.startsWith(kept)).toBe(true);
    expect(kept.endsWith('x')).toBe(true); // a whole line, cut at its end
    expect(capped).toContain(`${cut.toLocaleString('en-US')} characters`);
    const linesLeft = text.slice(kept.length + 1).split('\n').length;
    expect(capped).toContain(
      `(${linesLeft.toLocaleString('en-US')} lines) were left out; see the artifact.`,
    );
  });

  it('closes a code fence left open by the cut', () => {
    const text = '# Log\n```\n' + 'output line\n'.repeat(10_000) + '```\n';
    const { text: capped } = capText(text, 5000);
    expect(capped.length).toBeLessThanOrEqual(5000);
    expect(capped.match(/```/g)?.length).toBe(2);
  });

  it('never leaves half a surrogate pair', () => {
    const text = '😀'.repeat(10_000);
    const { text: capped } = capText(text, 4001);
    expect(capped.length).toBeLessThanOrEqual(4001);
    expect(capped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('chunk', () => {
  it('splits into runs of the given size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 50)).toEqual([]);
  });
});

describe('markers', () => {
  it('wraps a key in a hidden comment, and keeps a full marker as given', () => {
    expect(commentMarker('report')).toBe('<!-- parallel-executor:report -->');
    expect(commentMarker('<!-- mine -->')).toBe('<!-- mine -->');
    expect(commentMarker('a--b>')).toBe('<!-- parallel-executor:a-b -->');
  });

  it('puts the marker first, once', () => {
    const m = commentMarker('x');
    expect(withMarker(m, 'body')).toBe(`${m}\nbody`);
    expect(withMarker(m, `text\n${m}\nmore`)).toBe(`${m}\ntext\n\nmore`);
  });
});
