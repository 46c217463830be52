/**
 * A plan's findings shown where people look: a check run on the commit whose annotations sit on the
 * plan's lines, and (on a PR) one comment listing them. Markdown built from plan text escapes it.
 */
import { mdSha, mdText } from '../../engine/report/markdown.js';
import type { CheckRunInput } from '../../forge/types.js';
import type { Diagnostic } from '../../engine/plan/schema.js';
import type { PlanResult } from './load.js';

export const PLAN_CHECK_NAME = 'parallel-executor / plan';
export const PLAN_DIAGNOSTICS_MARKER = 'plan-diagnostics';

type Annotation = NonNullable<NonNullable<CheckRunInput['output']>['annotations']>[number];

export function diagnosticAnnotations(
  path: string,
  diagnostics: readonly Diagnostic[],
): Annotation[] {
  return diagnostics.map((d) => ({
    path,
    start_line: d.line,
    end_line: d.line,
    annotation_level: d.severity === 'error' ? 'failure' : 'warning',
    title: d.code,
    message: d.hint ? `${d.message}\n${d.hint}` : d.message,
  }));
}

/** The plan check run for `sha`: failure with annotations, or success with the task count. */
export function planCheckRun(
  sha: string,
  result: Exclude<PlanResult, { kind: 'missing' }>,
): CheckRunInput {
  if (result.kind === 'invalid') {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    return {
      name: PLAN_CHECK_NAME,
      headSha: sha,
      status: 'completed',
      conclusion: 'failure',
      output: {
        title: `${errors} problem${errors === 1 ? '' : 's'} in ${result.path}`,
        summary: diagnosticList(result.path, result.diagnostics),
        annotations: diagnosticAnnotations(result.path, result.diagnostics),
      },
    };
  }
  const count = result.plan.tasks.length;
  const warnings = result.warnings.length;
  return {
    name: PLAN_CHECK_NAME,
    headSha: sha,
    status: 'completed',
    conclusion: 'success',
    output: {
      title: `${count} task${count === 1 ? '' : 's'} in ${result.plan.groups.length} group(s)${warnings > 0 ? `, ${warnings} warning(s)` : ''}`,
      summary:
        warnings > 0
          ? diagnosticList(result.path, result.warnings)
          : `\`${result.path}\` parses and checks cleanly.`,
      ...(warnings > 0 ? { annotations: diagnosticAnnotations(result.path, result.warnings) } : {}),
    },
  };
}

export function diagnosticList(path: string, diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map(
      (d) =>
        `- ${d.severity === 'error' ? '❌' : '⚠️'} \`${path}:${d.line}:${d.column}\` ${mdText(d.message, 500)} (\`${d.code}\`)${d.hint ? `  \n  ${mdText(d.hint, 500)}` : ''}`,
    )
    .join('\n');
}

export function diagnosticsComment(
  path: string,
  sha: string,
  diagnostics: readonly Diagnostic[],
): string {
  return [
    `❌ **The plan has problems, so nothing was started.** \`${path}\` at ${mdSha(sha)}:`,
    '',
    diagnosticList(path, diagnostics),
    '',
    `The **${PLAN_CHECK_NAME}** check shows them on the plan's lines. Fix them and comment \`/parallel-run\` again.`,
  ].join('\n');
}
