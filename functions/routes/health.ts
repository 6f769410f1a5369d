import { Hono } from 'hono'
import type { HonoEnv } from '../app'
import { ping } from '../db/health'
import { withPool } from '../db/pool'

export const healthRoutes = new Hono<HonoEnv>()

healthRoutes.get('/', (c) => c.json({ status: 'ok' }))

healthRoutes.get('/db', async (c) => {
  const started = Date.now()
  try {
    await withPool(c, (pool) => ping(pool))
  } catch {
    return c.json(
      {
        error: {
          code: 'database_unavailable',
          message: 'database is not reachable',
          request_id: c.get('requestId'),
        },
      },
      503,
    )
  }
  return c.json({ database: 'ok', rtt_ms: Date.now() - started })
})
