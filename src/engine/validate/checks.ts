import type { Check } from './check.js';
import { buildCheck } from './checks/build.js';
import { coverageCheck } from './checks/coverage.js';
import { lintCheck } from './checks/lint.js';
import { securityCheck } from './checks/security.js';
import { testsCheck } from './checks/tests.js';
import type { CheckName } from './schema.js';

/** Every validation check, by name. They run in `CheckName`'s order. */
export const CHECKS: Record<CheckName, Check> = {
  lint: lintCheck,
  tests: testsCheck,
  coverage: coverageCheck,
  security: securityCheck,
  build: buildCheck,
};
