import { exitCodeDecides, type Check } from '../check.js';

export const lintCheck: Check = {
  outputFile: 'lint_results.txt',
  scripts: ['lint'],
  makeTarget: 'lint',
  judge: exitCodeDecides,
};
