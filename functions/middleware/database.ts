import type { Context, MiddlewareHandler } from 'hono'
import type { LibraryEvent } from '../../shared/events'
import { createPool } from '../db/pool'
import type { HonoEnv } from '../env'
import { log } from '../log'
import { deliverOutbox } from '../outbox/deliver'

/**
 * One Pool per request. Deferred work (delivering this request's events) runs inside waitUntil
 * after the response, and the pool is ended only once that work is done.
 */
export const database = (): MiddlewareHandler<HonoEnv> =>
  async function database(c, next) {
    const pool = createPool(c.var.config)
    const tasks: Array<() => Promise<void>> = []
    c.set('db', pool)
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
        await pool.end()
      }
      c.executionCtx.waitUntil(after())
    }
  }

/** After commit: hand this request's events to the bridge; whatever fails is left to the drain. */
export const dispatchEvents = (c: Context<HonoEnv>, events: readonly LibraryEvent[]) => {
  if (events.length === 0) return
  const { config, db } = c.var
  c.var.defer(async () => {
    await deliverOutbox(db, {
      bridge: config,
      batchSize: config.OUTBOX_BATCH_SIZE,
      eventIds: events.map((e) => e.event_id),
    })
  })
}
