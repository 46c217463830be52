import { join } from 'node:path';
import { expect } from 'vitest';
import { readState, type RunDocument } from '../finish/helpers.js';
import { checkInvariant, describe as describeReport, readLedger } from '../support/invariant.js';

/** A shell line that writes the commit an agent (task or repair) just made to the ledger. */
export const RECORD = `printf '{"commit":"%s","task":"%s"}\\n' "$(git rev-parse HEAD)" "$PE_TASK_ID\${PE_REPAIR:+-repair}" >> "$LEDGER/agents.jsonl"`;

/** Nothing an agent committed was lost, and nothing was called merged that is not. */
export async function invariantHolds(
  repoDir: string,
  ledgerDir: string,
  doc: RunDocument,
): Promise<void> {
  const file = join(
    repoDir,
    '.parallel-executor',
    'executions',
    doc.executionId,
    'PARALLEL_EXECUTION_STATUS.json',
  );
  const report = await checkInvariant({
    repoRoot: repoDir,
    state: await readState(file),
    ledger: await readLedger(ledgerDir),
  });
  expect(report.ok, describeReport(report)).toBe(true);
}
