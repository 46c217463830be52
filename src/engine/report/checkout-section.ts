import type { ExecutionState } from '../state/schema.js';
import { mdText } from './markdown.js';

/**
 * "Your checkout": what changed in the user's own checkout (HEAD, branches, tags, stash, git
 * config, files) during the execution, and who did it when that can be told. Only when something
 * did: the tool never touches the checkout itself, and nothing found here was undone.
 */
export function renderCheckoutSection(state: ExecutionState): string[] {
  const changes = state.checkout_changes ?? [];
  if (changes.length === 0) return [];
  return [
    '## Your checkout',
    '',
    `Changed during the execution (found by comparing with how it was at the start; nothing was undone):`,
    '',
    ...changes.map((change) => `- ${mdText(change, 400)}`),
    '',
  ];
}
