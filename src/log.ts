/**
 * The one pino root logger. JSON on stdout (pretty on a TTY); secrets are redacted by path
 * so that even a careless `log.info({config})` cannot print the API key or a password.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths pino censors wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'thehive.apiKey',
  'config.thehive.apiKey',
  'password',
  '*.password',
  'authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
];

/** Creates the root logger; tests pass a destination stream to read the lines back. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { name: 'tracehive' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } } });
  }
  return pino(options);
}
