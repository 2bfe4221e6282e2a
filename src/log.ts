/** @module The root pino logger. Credentials never reach a log line: auth headers, cookies and token-like
 *  query values are redacted here, once, for every child logger. */
import pino, { type Logger } from 'pino';

export type { Logger };

const SECRET_QUERY = /([?&](?:token|_xsrf|code|state|password)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

export function createLogger(level = 'info', destination: pino.DestinationStream = pino.destination({ sync: false })): Logger {
  return pino({
    level,
    base: { service: 'kicloud' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers.referer', 'headers.authorization',
        'headers.cookie', 'token', 'password', '*.token', '*.password', 'env'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url ?? '') }),
      err: pino.stdSerializers.err,
    },
  }, destination);
}
