/**
 * The execution state a wave's run uploaded (`parallel-executor-state`, or the workflow's
 * `parallel-executor-report`), read back from the run's artifacts and checked with zod.
 */
import { ExecutionState } from '../../engine/state/schema.js';
import { STATE_FILE } from '../../engine/monitor/state-store.js';
import type { ArtifactInfo, JobInfo } from '../github/app-api.js';
import type { Scope } from '../scope.js';
import {
  PUBLISHED_ARTIFACT,
  PUBLISHED_STEP,
  REPORT_ARTIFACT,
  REPORT_FILE,
  RESULT_ARTIFACT,
  STATE_ARTIFACT,
} from './names.js';

/**
 * Largest artifact downloaded: the app holds the whole zip in memory, and the state artifact also
 * carries the integration test logs, whose size agent-written tests decide. The state and report
 * are far smaller, even zipped with logs of a normal run.
 */
export const ARTIFACT_DOWNLOAD_LIMIT = 256 * 1024 * 1024;

/** The state and the report, not the integration test logs beside them (`integration/…`). */
function wanted(name: string): boolean {
  return !name.startsWith('integration/') && /\.(json|md)$/.test(name);
}

export interface RunState {
  state: ExecutionState | null;
  report: string | null;
}

/**
 * The state (and report) among `artifacts`; null when the run uploaded neither artifact. The
 * integrate job's state is written where agent-written tests ran, so it says whatever they
 * wanted (tasks merged that are nowhere); the publish job checks it against the branches before
 * it pushes them and uploads the state it published. In a run of the reusable workflow whose
 * publish job has that upload step, only that artifact is read, and only when that step
 * succeeded: an artifact's name is taken once per run, so one a job running agent code uploaded
 * first under that name makes the step fail. A run of it whose publish job never ran is read for
 * no state either: an agent leg holds the run's artifact token and can upload
 * `parallel-executor-state` first, and a test the integrate job runs can write what it uploads.
 * Runs of older workflows are read as before.
 */
export async function loadState(
  scope: Scope,
  artifacts: ArtifactInfo[],
  jobs: () => Promise<JobInfo[]>,
  /**
   * The run's conclusion. A successful run of the reusable workflow has its result (its publish
   * job downloads it): a state without one is then another workflow's, read without asking for
   * the jobs.
   */
  conclusion: string | null,
): Promise<RunState | null> {
  const result = artifacts.some((a) => a.name === RESULT_ARTIFACT);
  const other = artifacts.some((a) => a.name === STATE_ARTIFACT || a.name === REPORT_ARTIFACT);
  if (result || (other && conclusion !== 'success')) {
    const publish = (await jobs()).find((job) => job.name.split(' / ').pop() === 'publish');
    const step = publish?.steps.find((s) => s.name === PUBLISHED_STEP);
    if (step !== undefined) return publishedState(scope, artifacts, step.conclusion);
    // The reusable workflow's run whose publish job never ran (skipped or cancelled: no steps),
    // or that left no result (the integrate job timed out): the state there is not one the
    // publish job checked, and without a result the integrate job uploaded none (it uploads its
    // state beside the result), so a job running agent code did, under the name.
    if (publish !== undefined && (!result || publish.steps.length === 0)) {
      scope.log.warn('the publish job did not run; reading no state of this run', {
        publish: publish.conclusion,
        result,
      });
      return { state: null, report: null };
    }
  }
  return artifactState(scope, artifacts, [STATE_ARTIFACT, REPORT_ARTIFACT]);
}

async function publishedState(
  scope: Scope,
  artifacts: ArtifactInfo[],
  conclusion: string | null,
): Promise<RunState> {
  if (conclusion !== 'success') {
    scope.log.warn('the publish job did not upload its state; reading no state of this run', {
      step: PUBLISHED_STEP,
      conclusion,
    });
    return { state: null, report: null };
  }
  const loaded = await artifactState(scope, artifacts, [PUBLISHED_ARTIFACT]);
  // The report is rendered from this state; the artifact holds none.
  return { state: loaded?.state ?? null, report: null };
}

async function artifactState(
  scope: Scope,
  artifacts: ArtifactInfo[],
  names: readonly string[],
): Promise<RunState | null> {
  const found = names
    .map((name) => artifacts.find((a) => a.name === name && !a.expired))
    .filter((a): a is ArtifactInfo => a !== undefined)
    .filter((a) => {
      if (a.sizeInBytes <= ARTIFACT_DOWNLOAD_LIMIT) return true;
      scope.log.warn('artifact too big to download; not read', {
        artifact: a.name,
        sizeInBytes: a.sizeInBytes,
      });
      return false;
    });
  if (found.length === 0) return null;
  let state: ExecutionState | null = null;
  let report: string | null = null;
  for (const artifact of found) {
    const files = await scope.api.downloadArtifact(artifact.id, wanted);
    for (const [name, content] of files) {
      const base = name.split('/').pop() ?? name;
      if (state === null && base.endsWith('.json')) state = parseState(scope, base, content);
      if (report === null && (base === REPORT_FILE || base.endsWith('.md')))
        report = content.toString('utf8');
    }
    if (state !== null) break;
  }
  return { state, report };
}

/** The states of earlier waves' runs, in wave order (a run whose artifact expired is left out). */
export async function earlierStates(
  scope: Scope,
  runIds: readonly number[],
): Promise<ExecutionState[]> {
  const states: ExecutionState[] = [];
  for (const runId of runIds) {
    // An earlier wave's run ended in success: the next wave starts only after a clean one.
    const loaded = await loadState(
      scope,
      await scope.api.listRunArtifacts(runId),
      () => scope.api.listRunJobs(runId),
      'success',
    );
    if (loaded?.state) states.push(loaded.state);
  }
  return states;
}

function parseState(scope: Scope, file: string, content: Buffer): ExecutionState | null {
  try {
    const parsed = ExecutionState.safeParse(JSON.parse(content.toString('utf8')));
    if (parsed.success) return parsed.data;
    if (file === STATE_FILE) {
      scope.log.warn('execution state artifact does not match the schema', {
        issue: parsed.error.issues[0]?.message,
      });
    }
  } catch {
    scope.log.warn('artifact file is not JSON', { file });
  }
  return null;
}
