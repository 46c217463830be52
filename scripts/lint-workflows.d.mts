/** Types of scripts/lint-workflows.mjs, for the workflow tests. */
export declare const WORKFLOW_DIRS: string[];
/** Findings for one workflow text, as `file:line:col message [kind]`. */
export declare function lintWorkflow(text: string, file: string): Promise<string[]>;
/** The workflow files it checks, relative to the repository. */
export declare function workflowFiles(): Promise<string[]>;
export declare function lintWorkflows(): Promise<string[]>;
