import { describe, expect, it } from 'vitest';
import { formatCost, formatDuration } from '../../src/engine/format.js';
import type { Root, RootContent } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import {
  mdCode,
  mdSha,
  mdText,
  shellArg,
  truncate,
  untrustedMarkdown,
} from '../../src/engine/report/markdown.js';

describe('Markdown escaping', () => {
  it('writes a commit as its full SHA, bare, which GitHub links in a comment', () => {
    const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    expect(mdSha(sha)).toBe(sha);
    // Not a commit id: code, never bare text.
    expect(mdSha('a1b2c3d')).toBe('`a1b2c3d`');
    expect(mdSha('HEAD~1 @team')).toBe(mdCode('HEAD~1 @team'));
  });

  it('turns any text into one inert line', () => {
    expect(mdText('a | b\n# c\r\n* d _e_ [f](g) <h> $i$ ~j~ &k; `l`')).toBe(
      'a \\| b \\# c \\* d \\_e\\_ \\[f\\](g) \\<h\\> \\$i\\$ \\~j\\~ \\&k; \\`l\\`',
    );
    expect(mdText('tab\there\u0007bell\u202eflip')).toBe('tab herebellflip');
  });

  it('fences code spans longer than any backtick run inside', () => {
    expect(mdCode('plain')).toBe('`plain`');
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`edge`')).toBe('`` `edge` ``');
    expect(mdCode('a|b')).toBe('`a\\|b`');
  });

  it('cuts by code point, never through a surrogate pair', () => {
    expect(truncate('🚀🚀🚀🚀', 3)).toBe('🚀🚀…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('quotes shell arguments only when needed', () => {
    expect(shellArg('plans/PLAN.md')).toBe('plans/PLAN.md');
    expect(shellArg("it's $(bad)")).toBe(`'it'\\''s $(bad)'`);
  });
});

describe('formatting', () => {
  it('keeps the two largest units of a duration', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(1_250)).toBe('1.3s');
    expect(formatDuration(59_999)).toBe('59s');
    expect(formatDuration(60_000)).toBe('1min');
    expect(formatDuration(3_725_000)).toBe('1h 2min');
    expect(formatDuration(93_600_000)).toBe('1d 2h');
  });

  it('keeps sub-cent costs visible', () => {
    expect(formatCost(0.0042)).toBe('$0.0042');
    expect(formatCost(2.4462)).toBe('$2.45');
    // Cents when they are close enough, more digits when they would mislead.
    expect(formatCost(0.015)).toBe('$0.015');
    expect(formatCost(0.00625)).toBe('$0.00625');
    expect(formatCost(0.8731)).toBe('$0.87');
    expect(formatCost(0)).toBe('$0.00');
    expect(formatCost(0.1 + 0.2)).toBe('$0.30');
  });
});

describe('mdText and GitHub auto-links', () => {
  const J = '\u2060';
  it('leaves no mention of a person or a team live', () => {
    expect(mdText('Notify @octocat and @my-org/security')).toBe(
      `Notify @${J}octocat and @${J}my-org/security`,
    );
  });

  it('breaks issue references and bare links, and reads the same without the joiner', () => {
    const text = 'Fixes #12, GH-3 and acme/widgets#4; see https://example.com or www.example.com';
    const out = mdText(text);
    expect(out).not.toMatch(/#\d|GH-\d|https:\/\/|www\./);
    expect(out.replaceAll(J, '').replaceAll('\\', '')).toBe(text);
  });

  it('is the escaper of the Action tables and the App check runs too', async () => {
    const { table } = await import('../../src/action/markdown.js');
    expect(table(['who'], [['@octocat']])).toContain(`@${J}octocat`);
    const { queuedOutput } = await import('../../src/app/execution/task-output.js');
    const output = queuedOutput({
      id: '1.1',
      title: 'Ask @my-org/security about #7',
      agent: '@octocat',
      agents: [],
      group: null,
      dependsOn: [],
      estimateHours: null,
    });
    expect(output.summary).toContain(`Ask @${J}my-org/security about \\#${J}7`);
    expect(output.summary).toContain(`Agent: @${J}octocat`);
  });
});

describe('untrustedMarkdown', () => {
  it('keeps headings, lists and tables, and leaves no HTML, image, link or mention', () => {
    const text = [
      '# Report',
      '',
      '| a | b |',
      '|---|---|',
      '| 1 | 2 |',
      '',
      '- item <!-- parallel-executor:dashboard -->',
      '<img src=//evil.example/p.png> <IMG SRC="x"> ![x](https://evil.example/p.png)',
      '[y](https://evil.example) @octocat #12 www.evil.example',
    ].join('\n');
    const out = untrustedMarkdown(text);
    expect(out).not.toContain('<!--');
    const tree = unified().use(remarkParse).use(remarkGfm).parse(out) as Root;
    const kinds: string[] = [];
    const walk = (node: Root | RootContent) => {
      kinds.push(node.type);
      if ('children' in node) for (const child of node.children) walk(child);
    };
    walk(tree);
    expect(kinds).toContain('heading');
    expect(kinds).toContain('table');
    expect(kinds).toContain('list');
    expect(kinds.filter((k) => k === 'html' || k === 'image')).toEqual([]);
    // The one link left points nowhere GitHub would take it: its scheme is broken.
    const links: string[] = [];
    const collect = (node: Root | RootContent) => {
      if (node.type === 'link') links.push(node.url);
      if ('children' in node) for (const child of node.children) collect(child);
    };
    collect(tree);
    expect(links.every((url) => !url.startsWith('https://'))).toBe(true);
    expect(out).not.toMatch(/@octocat|#12/);
  });
});
