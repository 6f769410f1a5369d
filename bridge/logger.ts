import { type DestinationStream, type Logger, pino } from 'pino'

export const createLogger = (level: string, destination?: DestinationStream): Logger =>
  pino(
    {
      level,
      base: { service: 'bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'pass',
          '*.pass',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  )
