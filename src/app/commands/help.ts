import { COMMAND_PREFIX } from '../../forge/comment-command.js';

/** The reply to `/parallel-run help` and to a command we could not understand. */
export function helpText(problem: string | null = null): string {
  const lines = [
    ...(problem === null ? [] : [`I did not understand that command: ${problem}.`, '']),
    '**parallel-executor commands** (people with write access to this repository):',
    '',
    `- \`${COMMAND_PREFIX}\` or \`${COMMAND_PREFIX} all\`: run every pending task of the plan`,
    `- \`${COMMAND_PREFIX} <group>\`: run the pending tasks of one parallel group (\`${COMMAND_PREFIX} 2\`)`,
    `- \`${COMMAND_PREFIX} … --dry-run\`: show what would run, start nothing`,
    `- \`${COMMAND_PREFIX} status\`: where the current execution is`,
    `- \`${COMMAND_PREFIX} cancel\`: cancel the current execution`,
    `- \`${COMMAND_PREFIX} retry <task-id>\`: run one task again`,
    `- \`${COMMAND_PREFIX} help\`: this message`,
  ];
  return lines.join('\n');
}
