/** Who the tool's own commits (leftovers, dependency merges) are by. Never read from or written to the user's git config. */
export interface GitIdentity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: GitIdentity = {
  name: 'parallel-executor',
  email: 'parallel-executor@localhost',
};

/**
 * Per-command config: identity, and no signing, because a bookkeeping commit must not stop to ask
 * for a passphrase in the middle of a run.
 */
export function identityArgs(identity: GitIdentity): string[] {
  return [
    '-c',
    `user.name=${identity.name}`,
    '-c',
    `user.email=${identity.email}`,
    '-c',
    'commit.gpgsign=false',
  ];
}
