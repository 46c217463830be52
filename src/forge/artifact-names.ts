/**
 * The names of the artifacts a run's legs upload, as the Action's integrate jobs and the App read
 * them back.
 */

/**
 * Whether an artifact (or the folder download-artifact made of it) is `<prefix><task id>`, or that
 * with the `-<16 hex digits>` the workflow's leg adds: a name drawn on the leg's own runner, which
 * no other leg can know. An agent can reach the run's artifact token and upload under another
 * task's name; a task with two such artifacts is refused rather than one of them trusted.
 */
export function isArtifactOf(name: string, taskId: string, prefix = 'agent-'): boolean {
  const stem = `${prefix}${taskId}`;
  return (
    name === stem ||
    (name.startsWith(`${stem}-`) && /^[0-9a-f]{16}$/.test(name.slice(stem.length + 1)))
  );
}
