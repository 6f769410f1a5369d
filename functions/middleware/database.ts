import type { MiddlewareHandler } from 'hono'
import { createDb } from '../db/sql'
import type { HonoEnv } from '../env'
import { log } from '../log'
import { createDispatch } from '../outbox/dispatch'

/**
 * One Db per request: SQL over HTTP, plus a WebSocket Pool opened only if a flow needs an
 * interactive transaction. The events its writes record are delivered inside waitUntil after the
 * response (see outbox/dispatch.ts), and that pool, if any, is ended only once that is done.
 */
export const database = (): MiddlewareHandler<HonoEnv> =>
  async function database(c, next) {
    const db = createDb(c.var.config)
    const dispatch = createDispatch(db, c.var.config)
    c.set('db', Object.assign(db, { outbox: dispatch.listener }))
    try {
      await next()
    } finally {
      const after = async () => {
        await dispatch.deliver().catch((err: unknown) =>
          log.error('post-commit delivery failed', {
            error: err instanceof Error ? err.message : String(err),
          }),
        )
        await db.end()
      }
      c.executionCtx.waitUntil(after())
    }
  }
