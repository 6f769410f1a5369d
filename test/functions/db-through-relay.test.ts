import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createPool } from '../../functions/db/pool'

type RelayBindings = { DATABASE_URL: string; PG_WS_PROXY: string }

// A route of its own, so this test depends only on the pool factory the app uses, not on its routes.
const probe = new Hono<{ Bindings: RelayBindings }>().get('/db', async (c) => {
  const pool = createPool(c.env)
  try {
    const { rows } = await pool.query<{ db: string; one: number }>(
      'select current_database() as db, 1 as one',
    )
    return c.json(rows[0])
  } finally {
    c.executionCtx.waitUntil(pool.end())
  }
})

describe('functions inside workerd', () => {
  it('the Worker answers /health', async () => {
    const res = await SELF.fetch('http://functions.test/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('a Hono route queries the real test database through the WebSocket relay', async () => {
    const bindings = env as unknown as RelayBindings
    expect(bindings.PG_WS_PROXY).toMatch(/^127\.0\.0\.1:\d+$/)
    const ctx = createExecutionContext()
    const res = await probe.request('/db', {}, bindings, ctx)
    await waitOnExecutionContext(ctx)
    const body = await res.json()
    expect({ status: res.status, body }).toEqual({
      status: 200,
      body: { db: new URL(bindings.DATABASE_URL).pathname.slice(1), one: 1 },
    })
  })
})
