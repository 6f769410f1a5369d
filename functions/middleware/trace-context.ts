import type { MiddlewareHandler } from 'hono'
import { traceContextFrom } from '../../shared/trace-context'
import type { HonoEnv } from '../env'

/**
 * Reads the caller's `traceparent` and `tracestate` once: the events the request produces and the
 * swap commands it relays continue that trace. Invalid values are dropped (a new trace starts downstream).
 */
export const traceContext = (): MiddlewareHandler<HonoEnv> =>
  async function traceContext(c, next) {
    c.set(
      'trace',
      traceContextFrom((name) => c.req.header(name)),
    )
    await next()
  }
