import { join } from 'node:path';
import type { Logger } from '../ports/logger.js';
import { detectRisks } from './risk/detect.js';
import { testBoth } from './risk/test-both.js';
import type { InteractionRisk } from './schema.js';
import type { IntegrationSession } from './session.js';

export type OnRisk = 'report' | 'test-both' | 'repair';

/**
 * Interaction risks between the task branches (see risk/detect.ts), found before merging. A
 * parser that cannot load (a missing grammar file in a bundle) costs a note, not the integration.
 */
export async function findRisks(
  session: IntegrationSession,
  logger: Logger,
): Promise<InteractionRisk[]> {
  try {
    const risks = await detectRisks(
      session.repo,
      session.baseSha,
      session.tipsOf(session.candidates),
    );
    for (const risk of risks) {
      logger.warn('interaction risk', { tasks: risk.tasks.join(' ↔ '), reason: risk.reason });
    }
    return risks;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    session.notes.push(`Interaction risks were not checked: ${message}`);
    return [];
  }
}

export interface ActOnRisksOptions {
  onRisk: OnRisk;
  testCommand: string | null;
  env: Record<string, string>;
  logDir: string;
  signal?: AbortSignal;
  testTimeoutMs?: number;
}

/**
 * `integration.onRisk` after the merges: `test-both` runs both tasks' own new tests together on
 * the integration branch (a failure is a confirmed interaction). `repair` is the repair step's,
 * after the integration (src/engine/repair): it needs the tasks' agent, which this step has not,
 * so each risk says it waits for it. Nothing is dropped or merged here: the verdicts are reported.
 */
export async function actOnRisks(
  risks: InteractionRisk[],
  session: IntegrationSession,
  options: ActOnRisksOptions,
): Promise<void> {
  if (options.onRisk === 'report') return;
  const merged = new Set(session.idsOf(session.chain.length));
  const tips = new Map(session.tipsOf(session.candidates).map((tip) => [tip.taskId, tip.sha]));
  for (const [index, risk] of risks.entries()) {
    if (options.onRisk === 'repair') {
      risk.note =
        'to repair after the integration (a repair attempt of kind interaction); reported only until one runs';
      continue;
    }
    if (!risk.tasks.every((taskId) => merged.has(taskId))) {
      risk.note = 'not tested together: one of the tasks was not merged';
      continue;
    }
    if (options.testCommand === null) {
      risk.note = 'not tested together: no test command';
      continue;
    }
    risk.test = await testBoth(risk, {
      repo: session.repo,
      head: session.head(),
      baseSha: session.baseSha,
      tips,
      command: options.testCommand,
      env: options.env,
      outputFile: join(
        options.logDir,
        `interaction-test-${String(index + 1).padStart(2, '0')}.txt`,
      ),
      signal: options.signal,
      timeoutMs: options.testTimeoutMs,
    });
  }
}
