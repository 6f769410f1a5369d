import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import type { Logger } from 'pino'
import type { BridgeMetrics } from '../metrics'
import type { BridgeEnv } from '../types'

const QUIET = new Set(['/health', '/ready', '/metrics'])

/** Per-request child logger, access log line and HTTP metrics. */
export const observe = ({
  logger,
  metrics,
}: {
  logger: Logger
  metrics: BridgeMetrics
}): MiddlewareHandler<BridgeEnv> =>
  async function observe(c, next) {
    const started = performance.now()
    const log = logger.child({ request_id: c.get('requestId') })
    c.set('logger', log)
    log.debug({ method: c.req.method, path: c.req.path.slice(0, 300) }, 'request start')
    await next()
    const seconds = (performance.now() - started) / 1000
    const status = c.res.status
    const route = status === 404 && routePath(c) === '/*' ? 'unmatched' : routePath(c)
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) })
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds)
    const line = {
      method: c.req.method,
      route,
      path: c.req.path.slice(0, 300),
      status,
      duration_ms: Math.round(seconds * 1e4) / 10,
      principal: c.get('principal')?.name,
    }
    if (status >= 500 && status !== 503 && status !== 504) log.error(line, 'request')
    else if (status >= 500) log.warn(line, 'request')
    else if (QUIET.has(route)) log.debug(line, 'request')
    else log.info(line, 'request')
  }
