import type { Context, MiddlewareHandler } from 'hono'
import type { LibraryEvent } from '../../shared/events'
import { createDb } from '../db/sql'
import type { HonoEnv } from '../env'
import { log } from '../log'
import { deliverCommitted, deliverOutbox } from '../outbox/deliver'

/**
 * One Db per request: SQL over HTTP, plus a WebSocket Pool opened only if a flow needs an
 * interactive transaction. Deferred work (delivering this request's events) runs inside waitUntil
 * after the response, and that pool, if any, is ended only once that work is done.
 */
export const database = (): MiddlewareHandler<HonoEnv> =>
  async function database(c, next) {
    const db = createDb(c.var.config)
    const tasks: Array<() => Promise<void>> = []
    c.set('db', db)
    c.set('defer', (task) => {
      tasks.push(task)
    })
    try {
      await next()
    } finally {
      const after = async () => {
        for (const task of tasks) {
          await task().catch((err: unknown) =>
            log.error('deferred task failed', { error: err instanceof Error ? err.message : String(err) }),
          )
        }
        await db.end()
      }
      c.executionCtx.waitUntil(after())
    }
  }

/**
 * After commit: hand this request's events to the bridge; whatever fails is left to the drain.
 * `ready` (from the write that recorded them) says which ones no older undelivered event of
 * their entity held back: those are published from memory and marked in one statement. Without
 * it (events written in an interactive transaction) the claim path decides.
 */
export const dispatchEvents = (
  c: Context<HonoEnv>,
  events: readonly LibraryEvent[],
  ready?: readonly string[],
) => {
  if (events.length === 0) return
  const { config, db } = c.var
  c.var.defer(async () => {
    if (ready === undefined) {
      await deliverOutbox(db.pool(), {
        bridge: config,
        batchSize: config.OUTBOX_BATCH_SIZE,
        eventIds: events.map((e) => e.event_id),
      })
      return
    }
    const deliverable = events.filter((e) => ready.includes(e.event_id))
    await deliverCommitted(db, config, deliverable)
  })
}
