import type { Span } from '@opentelemetry/api'
import type { Context as HonoContext, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Tracing } from '../../shared/telemetry/tracing'

const requestSpans = new WeakMap<Request, Span>()

/** The server span of the request `c` serves (undefined while tracing is off). */
export const requestSpan = (c: HonoContext): Span | undefined => requestSpans.get(c.req.raw)

/** The path pattern of the handler that answered; middleware (`app.use`) does not count. */
const answeredRoute = (c: HonoContext): string | undefined => {
  const route = matchedRoutes(c)[c.req.routeIndex]
  return route && route.method !== 'ALL' ? route.path : undefined
}

/**
 * A server span per HTTP request (semantic conventions for HTTP servers), continuing the caller's
 * `traceparent`/`tracestate`. Installed only while tracing is on.
 */
export const httpServerSpans = (tracing: Tracing): MiddlewareHandler => {
  const {
    ATTR_HTTP_REQUEST_METHOD,
    ATTR_HTTP_RESPONSE_STATUS_CODE,
    ATTR_HTTP_ROUTE,
    ATTR_URL_PATH,
    ATTR_URL_SCHEME,
    ATTR_USER_AGENT_ORIGINAL,
  } = tracing.semconv
  return async function httpServerSpan(c, next) {
    const method = c.req.method
    const url = new URL(c.req.url)
    const span = tracing.startSpan(
      method,
      {
        kind: 'server',
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_PATH]: url.pathname,
          [ATTR_URL_SCHEME]: url.protocol.slice(0, -1),
          [ATTR_USER_AGENT_ORIGINAL]: c.req.header('user-agent'),
        },
      },
      tracing.extract((name) => c.req.header(name)),
    )
    requestSpans.set(c.req.raw, span)
    try {
      await next()
    } finally {
      const route = answeredRoute(c)
      if (route) {
        span.setAttribute(ATTR_HTTP_ROUTE, route)
        span.updateName(`${method} ${route}`)
      }
      const status = c.res.status
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      if (status >= 500) tracing.fail(span, String(status))
      span.end()
    }
  }
}
