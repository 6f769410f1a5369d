import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { asyncApiRoutes } from './asyncapi/routes'
import { requireToken } from './auth/require-token'
import { consoleRoutes } from './console/routes'
import type { BridgeDeps } from './deps'
import { observe } from './http/observe'
import { handleError, notFound } from './http/on-error'
import { bridgeOpenApiRoutes } from './openapi/routes'
import { eventRoutes } from './routes/events'
import { healthRoutes } from './routes/health'
import { requestRoutes } from './routes/request'
import { subscribeRoutes } from './routes/subscribe'
import { subscriptionRoutes } from './routes/subscriptions'
import { createSseMetrics } from './sse/metrics'
import { SseHub } from './sse/sse-hub'
import { createWebhookMetrics } from './subscriptions/metrics'
import { WebhookService } from './subscriptions/service'
import type { BridgeEnv } from './types'

/** Long-lived parts the entry creates itself so its shutdown can stop them in order. */
export interface AppServices {
  sseHub?: SseHub
  webhooks?: WebhookService
}

/** Calls `stop` once `isShuttingDown` turns true. */
const stopOnShutdown = (isShuttingDown: () => boolean, stop: () => void) => {
  const watch = setInterval(() => {
    if (!isShuttingDown()) return
    clearInterval(watch)
    stop()
  }, 200)
  watch.unref()
}

export const createApp = (deps: BridgeDeps, services: AppServices = {}) => {
  const sseHub =
    services.sseHub ?? new SseHub(deps.config.sse, createSseMetrics(deps.metrics.registry), deps.logger)
  const webhooks =
    services.webhooks ??
    new WebhookService({
      config: deps.config,
      nats: deps.nats,
      metrics: createWebhookMetrics(deps.metrics.registry),
      logger: deps.logger,
    })
  // What the entry did not hand over is created here, and stopped here once shutdown starts.
  if (deps.isShuttingDown && !(services.sseHub && services.webhooks)) {
    stopOnShutdown(deps.isShuttingDown, () => {
      if (!services.sseHub) sseHub.closeAll()
      if (!services.webhooks) void webhooks.stop()
    })
  }

  const app = new Hono<BridgeEnv>()
  app.use(requestId({ limitLength: 128 }))
  app.use(observe({ logger: deps.logger, metrics: deps.metrics }))
  app.onError(handleError(deps.logger))
  app.notFound(notFound)

  app.route('/', healthRoutes(deps, webhooks))
  app.route('/', consoleRoutes())
  app.route('/', bridgeOpenApiRoutes())
  app.route('/', asyncApiRoutes())

  app.use('/v1/*', requireToken({ tokens: deps.config.tokens }))
  app.route('/v1/events', eventRoutes(deps))
  app.route('/v1/request', requestRoutes(deps))
  app.route('/v1/subscribe', subscribeRoutes(deps, sseHub))
  app.route('/v1/subscriptions', subscriptionRoutes(deps, webhooks))
  return app
}

export type BridgeApp = ReturnType<typeof createApp>
