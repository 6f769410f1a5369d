import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { onError, pinoErrorLogger } from '../shared/http/on-error'
import type { Tracing } from '../shared/telemetry/tracing'
import { asyncApiRoutes } from './asyncapi/routes'
import { requireToken } from './auth/require-token'
import { consoleRoutes } from './console/routes'
import type { BridgeDeps } from './deps'
import { notFound } from './http/not-found'
import { observe } from './http/observe'
import { bridgeOpenApiRoutes } from './openapi/routes'
import { eventRoutes } from './routes/events'
import { healthRoutes } from './routes/health'
import { requestRoutes } from './routes/request'
import { subscribeRoutes } from './routes/subscribe'
import { subscriptionRoutes } from './routes/subscriptions'
import type { SseHub } from './sse/sse-hub'
import type { WebhookService } from './subscriptions/service'
import { httpServerSpans } from './telemetry/http-spans'
import type { BridgeEnv } from './types'

/** Long-lived parts `createBridge` owns and stops; the routes use them. */
export interface AppServices {
  sseHub: SseHub
  webhooks: WebhookService
  /** Undefined while tracing is off: no span middleware, no span anywhere. */
  tracing?: Tracing
}

/** The HTTP app alone, for `createBridge` to serve (and tests to call without a socket). */
export const createApp = (deps: BridgeDeps, { sseHub, webhooks, tracing }: AppServices) => {
  const app = new Hono<BridgeEnv>()
  if (tracing) app.use(httpServerSpans(tracing))
  app.use(requestId({ limitLength: 128 }))
  app.use(observe({ logger: deps.logger, metrics: deps.metrics }))
  app.onError(onError({ logger: pinoErrorLogger(deps.logger) }))
  app.notFound(notFound)

  app.route('/', healthRoutes(deps, webhooks))
  app.route('/', consoleRoutes())
  app.route(
    '/',
    bridgeOpenApiRoutes(() => app.routes),
  )
  app.route('/', asyncApiRoutes())

  app.use('/v1/*', requireToken({ tokens: deps.config.tokens }))
  app.route('/v1/events', eventRoutes(deps, tracing))
  app.route('/v1/request', requestRoutes(deps, tracing))
  app.route('/v1/subscribe', subscribeRoutes(deps, sseHub))
  app.route('/v1/subscriptions', subscriptionRoutes(deps, webhooks))
  return app
}

export type BridgeApp = ReturnType<typeof createApp>
