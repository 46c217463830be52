import { UsageError } from '../../engine/errors.js';
import type { Command } from '../io.js';

// Placeholder until the plan parser lands (issue 2).
export const validateCommand: Command = async () => {
  throw new UsageError('validate is not implemented yet');
};
