/**
 * Our own checks on workflow files, beyond actionlint: no expression inside a `run:` script
 * (untrusted text would become shell code), and third-party actions pinned to full commit SHAs.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export interface Finding {
  line: number;
  message: string;
}

/** Every `run:` of every step (jobs and composite actions) with the line it starts on. */
function runScripts(text: string): Array<{ script: string; line: number }> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const found: Array<{ script: string; line: number }> = [];
  const visit = (node: Node | null | undefined): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        const value = pair.value as Node | null;
        if (key === 'run' && isScalar(value) && typeof value.value === 'string') {
          // A block scalar (`run: |`) starts on the line after its indicator.
          const block = value.type === 'BLOCK_LITERAL' || value.type === 'BLOCK_FOLDED' ? 1 : 0;
          found.push({
            script: value.value,
            line: lineCounter.linePos(value.range?.[0] ?? 0).line + block,
          });
        } else {
          visit(value);
        }
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item as Node);
    }
  };
  visit(doc.contents as Node);
  return found;
}

/**
 * Expressions are expanded into the script text before the shell sees it, so `${{ … }}` in a
 * `run:` turns data into code. Pass values through `env:` (and quote `"$VAR"`) instead.
 */
export function findRunInjections(text: string): Finding[] {
  const findings: Finding[] = [];
  for (const { script, line } of runScripts(text)) {
    for (const match of script.matchAll(/\$\{\{([^}]*)\}\}/g)) {
      const expression = match[1]!.trim();
      const untrusted = /^(github\.event|inputs\.|github\.head_ref)/.test(expression)
        ? ' (untrusted input)'
        : '';
      findings.push({
        line: line + script.slice(0, match.index).split('\n').length - 1,
        message: `\${{ ${expression} }} inside run:${untrusted}: pass it through env: instead`,
      });
    }
  }
  return findings;
}

/** `uses:` of actions from other repositories must be a 40-hex commit SHA with the tag in a comment. */
export function findUnpinnedActions(text: string, ownRepository: string): Finding[] {
  const findings: Finding[] = [];
  text.split('\n').forEach((raw, i) => {
    const match = /^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(#.*)?$/.exec(raw);
    if (!match) return;
    const [, target, comment] = match as unknown as [string, string, string | undefined];
    if (target.startsWith('./') || target.startsWith('docker://')) return;
    if (target.startsWith(`${ownRepository}/`) || target.startsWith(`${ownRepository}@`)) return;
    const ref = target.split('@')[1] ?? '';
    if (!/^[0-9a-f]{40}$/.test(ref)) {
      findings.push({ line: i + 1, message: `${target} is not pinned to a full commit SHA` });
    } else if (!comment || !/#\s*v\d/.test(comment)) {
      findings.push({
        line: i + 1,
        message: `${target} has no "# vX.Y.Z" comment saying which release the SHA is`,
      });
    }
  });
  return findings;
}
