import { env } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { swapOutcomeEventId } from '../../shared/swap-execution'
import { type CallOptions, type CallResult, call, uniqueName } from './support/call'
import { query } from './support/database'
import { strategy } from './support/entities'

/**
 * Round trips to the database per route, counted by the local SQL-over-HTTP endpoint under a
 * connection string of the route's own (`application_name`), and bridge calls counted on the
 * Worker's fetch. Each count covers the request and its post-commit delivery.
 */

const FORWARD_TOKEN = 'forward-token-round-trips-0123456789'
const bindings = env as unknown as { DATABASE_URL: string; PG_WS_PROXY: string; BRIDGE_URL: string }

interface Counts {
  sql_calls: number
  ws_connections: number
  bridge_events_posts: number
  bridge_requests: number
}

let fetchSpy: ReturnType<typeof vi.spyOn> | undefined
afterEach(() => {
  fetchSpy?.mockRestore()
  fetchSpy = undefined
})

const endpointStats = async (key: string) => {
  const res = await fetch(`http://${bindings.PG_WS_PROXY}/stats?key=${encodeURIComponent(key)}`)
  return (await res.json()) as Pick<Counts, 'sql_calls' | 'ws_connections'>
}

/** Calls the route with a DATABASE_URL whose application_name no other test uses, and counts. */
const counted = async (
  path: string,
  options: CallOptions = {},
  key = uniqueName('rt'),
): Promise<CallResult & { counts: Counts }> => {
  const before = await endpointStats(key)
  const url = new URL(bindings.DATABASE_URL)
  url.searchParams.set('application_name', key)
  const bridgeCalls: string[] = []
  const realFetch = globalThis.fetch
  fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const target = input instanceof Request ? input.url : String(input)
    if (target.startsWith(bindings.BRIDGE_URL)) bridgeCalls.push(new URL(target).pathname)
    return realFetch(input, init)
  })
  let result: CallResult
  try {
    result = await call(path, { ...options, env: { ...options.env, DATABASE_URL: url.toString() } })
  } finally {
    fetchSpy.mockRestore()
    fetchSpy = undefined
  }
  const after = await endpointStats(key)
  return {
    ...result,
    counts: {
      sql_calls: after.sql_calls - before.sql_calls,
      ws_connections: after.ws_connections - before.ws_connections,
      bridge_events_posts: bridgeCalls.filter((p) => p === '/v1/events').length,
      bridge_requests: bridgeCalls.filter((p) => p.startsWith('/v1/request/')).length,
    },
  }
}

/** `sql` round trips; `post` = 1 when the route's events go to the bridge after commit (one more statement). */
const expectCounts = (res: { counts: Counts }, sql: number, post: 0 | 1, requests = 0) =>
  expect(res.counts).toEqual({
    sql_calls: sql + post,
    ws_connections: 0,
    bridge_events_posts: post,
    bridge_requests: requests,
  })

const swapBody = (from: string, to: string) => ({
  from_entity_id: from,
  to_entity_id: to,
  reason: 'round trips',
  initiated_by: 'round-trip-tests',
})

describe('round trips per route', () => {
  it('entities: a read is 1; a create is 1 + the post-commit statement; a change is a read + 1 + the post-commit statement', async () => {
    const created = await counted('/api/v1/entities', {
      json: { name: uniqueName('rt'), type: 'strategy', version: '1.0.0', config: { symbols: ['AAPL'] } },
    })
    expect(created.status).toBe(201)
    expectCounts(created, 1, 1)
    const id: string = created.body.id

    const got = await counted(`/api/v1/entities/${id}`)
    expect(got.status).toBe(200)
    expectCounts(got, 1, 0)

    const listed = await counted('/api/v1/entities?limit=5')
    expect(listed.status).toBe(200)
    expectCounts(listed, 1, 0)

    const missing = await counted(`/api/v1/entities/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
    expectCounts(missing, 1, 0)

    const patched = await counted(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { description: 'changed' },
    })
    expect(patched.status).toBe(200)
    expectCounts(patched, 2, 1)

    const unchanged = await counted(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { description: 'changed' },
    })
    expect(unchanged.status).toBe(200)
    expectCounts(unchanged, 1, 0)

    const validated = await counted(`/api/v1/entities/${id}/validate`, { method: 'POST' })
    expect(validated.status).toBe(200)
    expectCounts(validated, 2, 1)

    const deleted = await counted(`/api/v1/entities/${id}`, { method: 'DELETE' })
    expect(deleted.status).toBe(200)
    expectCounts(deleted, 2, 1)

    // every event of the entity went out after its own request, in order
    const rows = await query<{ event_type: string; delivered: boolean }>(
      'select event_type, delivered_at is not null as delivered from outbox o where entity_key = $1 order by o.id',
      [id],
    )
    expect(rows).toEqual(
      ['entity.registered', 'entity.updated', 'entity.validated', 'entity.deleted'].map((event_type) => ({
        event_type,
        delivered: true,
      })),
    )
  })

  it('deployments: start and each transition are a read + 1 + the post-commit statement; reads are 1', async () => {
    const entityId = await strategy()
    const started = await counted('/api/v1/deployments', {
      json: { entity_id: entityId, environment: 'paper' },
    })
    expect(started.status).toBe(201)
    expectCounts(started, 2, 1)
    const id: string = started.body.id

    const got = await counted(`/api/v1/deployments/${id}`)
    expect(got.status).toBe(200)
    expectCounts(got, 1, 0)

    const listed = await counted(`/api/v1/deployments?entity_id=${entityId}`)
    expect(listed.status).toBe(200)
    expectCounts(listed, 1, 0)

    const completed = await counted(`/api/v1/deployments/${id}/complete`, { method: 'POST' })
    expect(completed.status).toBe(200)
    expectCounts(completed, 2, 1)

    const refused = await counted(`/api/v1/deployments/${id}/complete`, { method: 'POST' })
    expect(refused.status).toBe(409)
    expectCounts(refused, 1, 0)

    const rolledBack = await counted(`/api/v1/deployments/${id}/rollback`, {
      method: 'POST',
      json: { reason: 'round trips' },
    })
    expect(rolledBack.status).toBe(200)
    expectCounts(rolledBack, 2, 1)
  })

  it('swaps: reads (both entities and the key in one batch) + record + settle, then the post-commit statement', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const swapped = await counted('/api/v1/swaps', {
      json: swapBody(from, to),
      headers: { 'idempotency-key': crypto.randomUUID() },
    })
    // no executor in this suite: the swap fails with no_responders, which still writes twice
    expect(swapped.status).toBe(503)
    expectCounts(swapped, 3, 1, 1)
    const swapId: string = swapped.body.error.details.swap_id

    const got = await counted(`/api/v1/swaps/${swapId}`)
    expect(got.status).toBe(200)
    expectCounts(got, 1, 0)

    const listed = await counted(`/api/v1/swaps?entity_id=${from}`)
    expect(listed.status).toBe(200)
    expectCounts(listed, 1, 0)

    const refused = await counted('/api/v1/swaps', { json: swapBody(from, from) })
    expect(refused.status).toBe(422)
    expectCounts(refused, 1, 0)

    // a completed swap's rollback that the executor does not confirm reads once and writes nothing
    await query(`update swaps set status = 'completed' where id = $1`, [swapId])
    const rollback = await counted(`/api/v1/swaps/${swapId}/rollback`, { method: 'POST' })
    expect(rollback.status).toBe(503)
    expectCounts(rollback, 1, 0, 1)
  })

  it('internal swap routes: validate reads both entities in 1; a late outcome settles in 1 + the post-commit statement', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const forward = { key: FORWARD_TOKEN, env: { FORWARD_TOKEN } }
    const validated = await counted('/internal/swap/validate', { ...forward, json: swapBody(from, to) })
    expect(validated.status).toBe(200)
    expect(validated.body.valid).toBe(true)
    expectCounts(validated, 1, 0)

    const swapped = await call('/api/v1/swaps', { json: swapBody(from, to) })
    const swapId: string = swapped.body.error.details.swap_id
    await query(`update swaps set status = 'unknown' where id = $1`, [swapId])
    const late = await counted('/internal/swap/events', {
      ...forward,
      json: {
        event_id: await swapOutcomeEventId(swapId, 'swap.completed'),
        event_type: 'swap.completed',
        timestamp: new Date().toISOString(),
        source: 'library-swap-executor',
        swap_id: swapId,
        data: { status: 'completed', message: 'done late' },
      },
    })
    expect(late.status).toBe(200)
    expect(late.body).toEqual({ settled: true, swap_id: swapId, status: 'completed' })
    expectCounts(late, 1, 1)
  })

  it('/health/detailed: one statement for a fresh report, none while the snapshot is fresh', async () => {
    const keyed = await counted('/health/detailed')
    expect(keyed.status).toBe(200)
    expect(keyed.counts.sql_calls).toBe(1)
    expect(keyed.counts.ws_connections).toBe(0)

    // anonymous callers of one isolate share one check: concurrent ones wait for the one in flight
    const key = uniqueName('rt-anonymous')
    const url = new URL(bindings.DATABASE_URL)
    url.searchParams.set('application_name', key)
    const burst = await Promise.all(
      Array.from({ length: 6 }, () =>
        call('/health/detailed', { key: null, env: { DATABASE_URL: url.toString() } }),
      ),
    )
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200])
    expect(burst.every((r) => r.body.database.status === 'ok')).toBe(true)
    expect(await endpointStats(key)).toEqual({ sql_calls: 1, ws_connections: 0 })
  })
})
