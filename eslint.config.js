import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** No GitHub runtime, no shell: the engine and src/github-run. */
const SHELL_AGNOSTIC = [
  {
    group: ['probot', 'probot/*'],
    message: 'The engine must not depend on probot; put it in src/app.',
  },
  {
    group: ['@actions/*'],
    message: 'The engine must not depend on @actions/*; put it in src/action.',
  },
  {
    group: ['**/cli/**', '**/action/**', '**/app/**'],
    message: 'The engine must not import a shell.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'lib/', 'dist/', 'coverage/', '.parallel-executor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The engine is shell-agnostic: no GitHub runtime, no ambient environment. So is what the
    // Action and the App share about a run on GitHub (src/github-run).
    files: ['src/engine/**/*.ts', 'src/github-run/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: SHELL_AGNOSTIC }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'The engine reads no process.env: take settings as parameters.',
        },
      ],
    },
  },
  {
    // The engine asks nothing of a code host (src/github-run may use the forge's types).
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...SHELL_AGNOSTIC,
            {
              group: ['**/forge/**'],
              message:
                'The engine asks nothing of a code host: return results and let the shell publish them with src/forge.',
            },
          ],
        },
      ],
    },
  },
  // Shells do not import shells: what two of them share lives in src/engine or src/forge.
  ...[
    ['cli', ['action', 'app']],
    ['action', ['cli', 'app']],
    ['app', ['cli', 'action']],
  ].map(([shell, others]) => ({
    files: [`src/${shell}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: others.map((other) => `**/${other}/**`),
              message: `src/${shell} must not import another shell; move what they share into src/engine or src/forge.`,
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
