import type postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, type FunctionsStack, startFunctionsStack } from './support/functions-stack'
import { report } from './support/report'

const FLOOD = 300

let stack: FunctionsStack

beforeAll(async () => {
  stack = await startFunctionsStack()
}, 180_000)

afterAll(async () => {
  await stack?.cleanup()
}, 60_000)

/** Samples how many other connections the database has, every few milliseconds, until stopped. */
const watchConnections = (sql: postgres.Sql) => {
  let peak = 0
  let samples = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()`
      peak = Math.max(peak, row?.n ?? 0)
      samples++
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { peak, samples }
    },
  }
}

describe('anonymous /health/detailed under a flood (wrangler dev, real Postgres, bridge and NATS)', () => {
  it(`${FLOOD} concurrent anonymous calls cost the database a handful of connections; an API call right after answers`, async () => {
    const baseline = watchConnections(stack.sql)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const idle = await baseline.stop()

    const watch = watchConnections(stack.sql)
    const started = Date.now()
    const answers = await Promise.all(
      Array.from({ length: FLOOD }, () =>
        fetch(`${stack.functionsUrl}/health/detailed`, { signal: AbortSignal.timeout(60_000) }).then(
          async (res) => ({ status: res.status, text: await res.text() }),
          () => ({ status: 0, text: '' }),
        ),
      ),
    )
    const floodMs = Date.now() - started
    const { peak, samples } = await watch.stop()

    const statuses = new Map<number, number>()
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
    expect(Object.fromEntries(statuses)).toEqual({ 200: FLOOD })
    // the seed's gate
    for (const a of answers) expect(a.text).toMatch(/nats.*connected/)
    for (const a of answers) expect(JSON.parse(a.text)).toMatchObject({ database: { status: 'ok' } })
    expect(samples).toBeGreaterThan(0)
    // the SQL endpoint's small pool and the test's own client, not a Pool per call (89 before)
    expect(peak - idle.peak).toBeLessThanOrEqual(8)

    const list = await api(stack, 'GET', '/api/v1/entities?limit=1')
    expect(list.status, list.text).toBe(200)

    report({
      scenario: '13 anonymous health flood',
      sent: FLOOD,
      acked: statuses.get(200) ?? 0,
      received: statuses.get(200) ?? 0,
      lost: 0,
      duplicated: 0,
      recovery_ms: null,
      notes: {
        peak_db_connections: peak,
        idle_db_connections: idle.peak,
        flood_ms: floodMs,
        api_after: list.status,
      },
    })
  })
})
