import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the process logger: JSON lines on stdout, level from `LOG_LEVEL`. */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { service: 'realmcast' } });
}
