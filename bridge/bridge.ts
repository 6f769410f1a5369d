import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Logger } from 'pino'
import type { Tracing } from '../shared/telemetry/tracing'
import { type BridgeApp, createApp } from './app'
import type { BridgeConfig } from './config'
import type { BridgeDeps } from './deps'
import { errorMessage } from './error-message'
import { createForwarder } from './forward/forwarder'
import { createLogger } from './logger'
import { type BridgeMetrics, createMetrics } from './metrics'
import { NatsConnectionHolder } from './nats/connection'
import { StreamKeeper } from './nats/stream'
import { createSseMetrics } from './sse/metrics'
import { SseHub } from './sse/sse-hub'
import { createWebhookMetrics } from './subscriptions/metrics'
import { WebhookService } from './subscriptions/service'

export interface BridgeOptions {
  logger?: Logger
  metrics?: BridgeMetrics
  /** Called when the HTTP server fails after it started listening. */
  onFatal?: (err: Error) => void
  /** Spans exported over OTLP (`startTracing`); undefined leaves tracing off. Flushed by `stop()`. */
  tracing?: Tracing
}

export interface Bridge {
  app: BridgeApp
  deps: BridgeDeps
  /** Connects to NATS (reconnecting by itself) and listens; resolves with the bound address. */
  start(): Promise<AddressInfo>
  /**
   * Stops HTTP (readiness turns 503, SSE streams end, in-flight responses finish), then the
   * webhook workers and the forwarder, then drains NATS and flushes the spans. Rejects when that takes longer than
   * BRIDGE_SHUTDOWN_GRACE_MS. Stopping twice is stopping once; `signal` is logged.
   */
  stop(signal?: string): Promise<void>
}

/** The whole bridge: every long-lived part, created here and stopped here, in order. */
export const createBridge = (config: BridgeConfig, options: BridgeOptions = {}): Bridge => {
  const logger = options.logger ?? createLogger(config.logLevel)
  const metrics = options.metrics ?? createMetrics()
  const { tracing } = options
  const nats = new NatsConnectionHolder({
    config: config.nats,
    logger,
    metrics,
    jetStreamTimeoutMs: config.publishTimeoutMs,
  })
  const stream = new StreamKeeper(nats, config.stream, logger, metrics)
  let shuttingDown = false
  const deps: BridgeDeps = { config, nats, stream, logger, metrics, isShuttingDown: () => shuttingDown }
  const sseHub = new SseHub(config.sse, createSseMetrics(metrics.registry), logger, tracing)
  const webhooks = new WebhookService({
    config,
    nats,
    metrics: createWebhookMetrics(metrics.registry),
    logger,
    tracing,
  })
  const forwarder = createForwarder({
    config: config.forward,
    logger: logger.child({ component: 'forward' }),
    tracing,
  })
  nats.onConnected(({ nc }) => forwarder.attach(nc))
  const app = createApp(deps, { sseHub, webhooks, tracing })

  let server: Server | undefined
  let stopping: Promise<void> | undefined

  const start = async (): Promise<AddressInfo> => {
    if (config.tokens.size === 0)
      logger.warn('no API tokens configured (BRIDGE_TOKENS): every /v1 request is refused')
    void nats.start()
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) =>
        resolve(info as AddressInfo),
      ) as Server
      server = s
      s.once('error', reject)
    })
    server?.on('error', (err) => {
      logger.fatal({ err: err.message }, 'HTTP server error')
      options.onFatal?.(err)
    })
    logger.info({ host: address.address, port: address.port }, 'bridge listening')
    return address
  }

  const shutdown = async () => {
    shuttingDown = true
    // Keep-alive sockets become idle once their in-flight response is written; close them as they do.
    const sweeper = server ? setInterval(() => server?.closeIdleConnections(), 50) : undefined
    const httpClosed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    sseHub.closeAll()
    // Workers stop pulling now; deliveries in progress finish and are acked while NATS is still up.
    await Promise.all([httpClosed, webhooks.stop()])
    clearInterval(sweeper)
    logger.info('webhook workers stopped')
    await forwarder.drain()
    await nats.close()
    if (tracing) {
      await tracing
        .shutdown()
        .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not flush the spans'))
      logger.info('spans flushed')
    }
    logger.info('shutdown complete')
  }

  const stop = (signal?: string): Promise<void> => {
    if (stopping) return stopping
    logger.info({ signal, grace_ms: config.shutdownGraceMs }, 'shutting down')
    let timer: NodeJS.Timeout | undefined
    const tooLong = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('graceful shutdown took too long')), config.shutdownGraceMs)
      timer.unref()
    })
    stopping = Promise.race([shutdown(), tooLong]).finally(() => {
      clearTimeout(timer)
      logger.flush()
    })
    return stopping
  }

  return { app, deps, start, stop }
}
