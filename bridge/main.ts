import { startTracing } from '../shared/telemetry/tracing'
import { createBridge } from './bridge'
import { ConfigError, loadConfig } from './config'
import { createLogger } from './logger'

const loadConfigOrExit = () => {
  try {
    return loadConfig()
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err)
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: `invalid configuration: ${message}` })}\n`)
    process.exit(1)
  }
}

const config = loadConfigOrExit()
const logger = createLogger(config.logLevel)
const tracing = await startTracing(process.env, {
  serviceName: 'library-bridge',
  log: logger.child({ component: 'otel' }),
})
const bridge = createBridge(config, { logger, onFatal: () => process.exit(1), tracing })
if (tracing) logger.info('tracing on: spans exported over OTLP/HTTP')

const shutdown = (signal: string) =>
  bridge.stop(signal).then(
    () => process.exit(0),
    (err: Error) => {
      logger.error({ err: err.message }, 'graceful shutdown failed, exiting')
      process.exit(1)
    },
  )

process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('unhandledRejection', (reason) => {
  logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection')
})
bridge.start().catch((err: Error) => {
  logger.fatal({ err: err.message }, 'HTTP server error')
  process.exit(1)
})
