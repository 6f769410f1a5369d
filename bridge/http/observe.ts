import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import type { Logger } from 'pino'
import type { BridgeMetrics } from '../metrics'
import type { BridgeEnv } from '../types'

const QUIET = new Set(['/health', '/ready', '/metrics'])

/** A successful request slower than this is logged at `info`; faster ones at `debug`. */
export const SLOW_REQUEST_MS = 1_000

/**
 * Per-request child logger, access log line and HTTP metrics. The access line is at `info` for
 * failed (4xx/5xx) and slow requests only: at the event rate a bridge carries, a line per
 * successful request is most of the logging cost and most of the log. `LOG_LEVEL=debug` logs
 * every request.
 */
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
    const debug = log.isLevelEnabled('debug')
    if (debug) log.debug({ method: c.req.method, path: c.req.path.slice(0, 300) }, 'request start')
    await next()
    const ms = performance.now() - started
    const seconds = ms / 1000
    const status = c.res.status
    const route = status === 404 && routePath(c) === '/*' ? 'unmatched' : routePath(c)
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) })
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds)
    const quiet = status < 400 && (ms < SLOW_REQUEST_MS || QUIET.has(route))
    if (quiet && !debug) return
    const line = {
      method: c.req.method,
      route,
      path: c.req.path.slice(0, 300),
      status,
      duration_ms: Math.round(ms * 10) / 10,
      principal: c.get('principal')?.name,
    }
    if (status >= 500 && status !== 503 && status !== 504) log.error(line, 'request')
    else if (status >= 500) log.warn(line, 'request')
    else if (quiet) log.debug(line, 'request')
    else log.info(line, 'request')
  }
