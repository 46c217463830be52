import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
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
          ],
        },
      ],
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
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
