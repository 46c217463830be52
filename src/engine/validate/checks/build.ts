import { exitCodeDecides, type Check } from '../check.js';

export const buildCheck: Check = {
  outputFile: 'build_output.txt',
  scripts: ['build'],
  makeTarget: 'build',
  judge: exitCodeDecides,
};
