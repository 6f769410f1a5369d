import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp } from './app'
import { ConfigError, loadConfig } from './config'
import { createForwarder } from './forward/forwarder'
import { createLogger } from './logger'
import { createMetrics } from './metrics'
import { NatsConnectionHolder } from './nats/connection'
import { StreamKeeper } from './nats/stream'
import { createSseMetrics } from './sse/metrics'
import { SseHub } from './sse/sse-hub'
import { createWebhookMetrics } from './subscriptions/metrics'
import { WebhookService } from './subscriptions/service'

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
const metrics = createMetrics()
const nats = new NatsConnectionHolder({
  config: config.nats,
  logger,
  metrics,
  jetStreamTimeoutMs: config.publishTimeoutMs,
})
const stream = new StreamKeeper(nats, config.stream, logger, metrics)

let shuttingDown = false
const sseHub = new SseHub(config.sse, createSseMetrics(metrics.registry), logger)
const webhooks = new WebhookService({
  config,
  nats,
  metrics: createWebhookMetrics(metrics.registry),
  logger,
})
const app = createApp(
  { config, nats, stream, logger, metrics, isShuttingDown: () => shuttingDown },
  { sseHub, webhooks },
)

if (config.tokens.size === 0)
  logger.warn('no API tokens configured (BRIDGE_TOKENS): every /v1 request is refused')

const forwarder = createForwarder({ config: config.forward, logger: logger.child({ component: 'forward' }) })
nats.onConnected(({ nc }) => forwarder.attach(nc))

void nats.start()

const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
  logger.info({ host: info.address, port: info.port }, 'bridge listening')
}) as Server

server.on('error', (err) => {
  logger.fatal({ err: err.message }, 'HTTP server error')
  process.exit(1)
})

const shutdown = async (signal: string) => {
  if (shuttingDown) return
  shuttingDown = true
  logger.info({ signal, grace_ms: config.shutdownGraceMs }, 'shutting down')
  setTimeout(() => {
    logger.error('graceful shutdown took too long, exiting')
    process.exit(1)
  }, config.shutdownGraceMs).unref()

  // Keep-alive sockets become idle once their in-flight response is written; close them as they do.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50)
  const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()))
  sseHub.closeAll()
  // Workers stop pulling now; deliveries in progress finish and are acked while NATS is still up.
  await Promise.all([httpClosed, webhooks.stop()])
  clearInterval(sweeper)
  logger.info('webhook workers stopped')
  await forwarder.drain()
  await nats.close()
  logger.info('shutdown complete')
  logger.flush()
  process.exit(0)
}

process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('unhandledRejection', (reason) => {
  logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection')
})
