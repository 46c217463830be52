import type { Logger as PinoLogger } from 'probot';
import type { Logger } from '../engine/ports/logger.js';

/** The engine's Logger port on Probot's pino logger (data first, message second, as pino wants). */
export function pinoLogger(log: PinoLogger): Logger {
  return {
    debug: (message, data) => log.debug(data ?? {}, message),
    info: (message, data) => log.info(data ?? {}, message),
    warn: (message, data) => log.warn(data ?? {}, message),
    error: (message, data) => log.error(data ?? {}, message),
  };
}
