// pino JSON logs. Secrets are held in Secret objects that print a mask; redaction paths below are a
// second line of defence for values that reach a log call under a well-known name.
import pino from 'pino';

export type Logger = pino.Logger;

const REDACT_PATHS = [
  'token', 'password', 'secret', 'key', 'authorization', 'Authorization',
  '*.token', '*.password', '*.secret', '*.authorization', '*.Authorization', '*.apiKey',
  'headers.authorization', 'headers.Authorization', 'config.*.token', 'config.*.password',
];

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { name: opts.name ?? 'logstream', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '**REDACTED**' },
    formatters: { level: (label) => ({ level: label }) },
  };
  // Logs go to stderr: stdout belongs to the stdout sink and CLI output.
  return pino(options, opts.destination ?? pino.destination({ fd: 2, sync: false }));
}
