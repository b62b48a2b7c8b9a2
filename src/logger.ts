// The pino logger, with secrets (tokens in headers and query strings) redacted before they are written.
import { pino, type Logger } from 'pino'

export type { Logger }

export function redactUrl(url: string): string {
  return url.replace(/([?&](?:access_token|token)=)[^&]*/gi, '$1[redacted]')
}

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.accessToken',
          '*.jwtSecret',
          'accessToken',
          'jwtSecret',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url ?? ''),
        }),
        err: pino.stdSerializers.err,
      },
    },
    destination as pino.DestinationStream | undefined,
  )
}
