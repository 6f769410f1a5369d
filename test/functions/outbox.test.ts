import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../functions/index'
import { call, testEnv, uniqueName } from './support/call'
import { outboxFor, query } from './support/database'
import { expectDelivered } from './support/expect-delivered'
import { countInStream } from './support/stream'

// Nothing listens on port 1: the Worker sees exactly what it sees when the bridge is down.
const BRIDGE_DOWN = { BRIDGE_URL: 'http://127.0.0.1:1' }

const runScheduled = async () => {
  const ctx = createExecutionContext()
  await worker.scheduled(
    createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }),
    testEnv(),
    ctx,
  )
  await waitOnExecutionContext(ctx)
}

/** Stands in for the backoff having elapsed. */
const makeDue = (ids: string[]) =>
  query(`update outbox set next_attempt_at = now() where id = any($1::bigint[])`, [ids])

/**
 * Moves `ids` (oldest first) to the ids just below and at the next power of ten past every id the
 * sequence has handed out, and moves the sequence past them, so the older row's id has fewer digits:
 * compared as text rather than as a number it would sort after the newer one.
 */
const renumberAcrossDigitBoundary = async (ids: [string, string]): Promise<[string, string]> => {
  const [row] = await query<{ p: string }>(
    `with n as (select nextval(pg_get_serial_sequence('outbox', 'id')) as n),
          p as (select power(10, length((n + 1000)::text))::bigint as p from n)
     select p::text as p, setval(pg_get_serial_sequence('outbox', 'id'), p + 1000) from p`,
  )
  const p = BigInt(row!.p)
  const renumbered: [string, string] = [String(p - 1n), String(p)]
  for (const [i, id] of ids.entries()) {
    await query('update outbox set id = $2 where id = $1', [id, renumbered[i]])
  }
  return renumbered
}

describe('transactional outbox', () => {
  it('keeps events while the bridge is down and delivers them once, in order, when it is back', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('offline'), type: 'data_feed', version: '1.0.0', config: { source: 'x' } },
      env: BRIDGE_DOWN,
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id
    const patched = await call(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { config: { source: 'x', interval: '1m' } },
      env: BRIDGE_DOWN,
    })
    expect(patched.status).toBe(200)

    const pending = await outboxFor(id)
    expect(pending.map((r) => r.event_type)).toEqual(['entity.registered', 'entity.updated'])
    for (const row of pending) {
      expect(row.delivered_at).toBeNull()
      expect(row.stream_seq).toBeNull()
    }
    // the first was tried and failed; the second was held back behind it (same entity)
    expect(pending.map((r) => r.attempts)).toEqual([1, 0])
    expect(pending[0]!.last_error).toMatch(/bridge unreachable/)
    // the failed row backs off rather than being retried at once
    expect(pending[0]!.next_attempt_at.getTime()).toBeGreaterThan(Date.now())

    const degraded = await call('/health/detailed', { key: null, env: BRIDGE_DOWN })
    expect(degraded.status).toBe(200)
    expect(degraded.body).toMatchObject({
      status: 'degraded',
      database: { status: 'ok' },
      bridge: { status: 'unreachable', ready: false },
      nats: { status: 'unknown' },
    })
    expect(degraded.body.outbox.pending).toBeGreaterThanOrEqual(2)
    expect(degraded.body.outbox.oldest_pending_age_seconds).toBeGreaterThanOrEqual(0)
    expect(JSON.stringify(degraded.body)).not.toMatch(/127\.0\.0\.1|postgres:|Bearer|token/i)

    // only the newer event is due: it must wait for the older one of the same entity
    await makeDue([pending[1]!.id])
    await runScheduled()
    expect((await outboxFor(id)).map((r) => r.delivered_at)).toEqual([null, null])

    await makeDue([pending[0]!.id])
    await runScheduled()
    const delivered = await outboxFor(id)
    expect(delivered.every((r) => r.delivered_at !== null)).toBe(true)
    expect(Number(delivered[0]!.stream_seq)).toBeLessThan(Number(delivered[1]!.stream_seq))
    await expectDelivered(id, 'entity.registered')
    await expectDelivered(id, 'entity.updated')

    // a second run sends nothing again
    await runScheduled()
    const eventIds = delivered.map((r) => r.event_id)
    expect(await countInStream(eventIds)).toEqual(Object.fromEntries(eventIds.map((e) => [e, 1])))

    const healthy = await call('/health/detailed', { key: null })
    expect(healthy.body).toMatchObject({
      status: 'ok',
      bridge: { status: 'ready', ready: true },
      nats: { status: 'connected' },
    })
    const [mine] = await query<{ n: number }>(
      'select count(*)::int as n from outbox where entity_key = $1 and delivered_at is null',
      [id],
    )
    expect(mine!.n).toBe(0)
  })

  it('keeps per-entity order when the older row has fewer id digits than the newer one', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('digits'), type: 'model', version: '1.0.0' },
      env: BRIDGE_DOWN,
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id
    const patched = await call(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { description: 'one more digit' },
      env: BRIDGE_DOWN,
    })
    expect(patched.status).toBe(200)
    const pending = await outboxFor(id)
    expect(pending.map((r) => r.event_type)).toEqual(['entity.registered', 'entity.updated'])
    const [older, newer] = await renumberAcrossDigitBoundary([pending[0]!.id, pending[1]!.id])
    expect((await outboxFor(id)).map((r) => r.id)).toEqual([older, newer])

    // only the newer event is due: it must still wait for the older one
    await makeDue([newer])
    await runScheduled()
    expect((await outboxFor(id)).map((r) => r.delivered_at)).toEqual([null, null])

    // both due in one claim: they go out oldest first
    await makeDue([older, newer])
    await runScheduled()
    const delivered = await outboxFor(id)
    expect(delivered.map((r) => r.event_type)).toEqual(['entity.registered', 'entity.updated'])
    expect(delivered.every((r) => r.delivered_at !== null)).toBe(true)
    expect(Number(delivered[0]!.stream_seq)).toBeLessThan(Number(delivered[1]!.stream_seq))
    await expectDelivered(id, 'entity.registered')
    await expectDelivered(id, 'entity.updated')
  })

  it('a row whose ack was lost is sent again and JetStream keeps one message', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('acklost'), type: 'model', version: '0.1.0' },
    })
    const [row] = await outboxFor(created.body.id)
    expect(row!.delivered_at).not.toBeNull()
    await query('update outbox set delivered_at = null, next_attempt_at = now() where id = $1', [row!.id])
    await runScheduled()
    const [again] = await outboxFor(created.body.id)
    expect(again!.delivered_at).not.toBeNull()
    expect(again!.stream_seq).toBe(row!.stream_seq)
    expect(await countInStream([row!.event_id])).toEqual({ [row!.event_id]: 1 })
  })

  it('a transaction that fails leaves no outbox row', async () => {
    const name = uniqueName('dupe')
    const first = await call('/api/v1/entities', { json: { name, type: 'risk_rule', version: '1.0.0' } })
    expect(first.status).toBe(201)
    const second = await call('/api/v1/entities', { json: { name, type: 'risk_rule', version: '1.0.0' } })
    expect(second.status).toBe(409)
    expect(second.body.error).toMatchObject({ code: 'entity_exists', details: { name, version: '1.0.0' } })
    const rows = await query<{ n: number }>(
      `select count(*)::int as n from outbox where payload->>'entity_name' = $1`,
      [name],
    )
    expect(rows[0]!.n).toBe(1)
    const entities = await query<{ n: number }>('select count(*)::int as n from entities where name = $1', [
      name,
    ])
    expect(entities[0]!.n).toBe(1)
  })

  it('/health/detailed reports the backlog and reads "nats … connected" as the original gate expects', async () => {
    const res = await call('/health/detailed', { key: null })
    expect(res.status).toBe(200)
    expect(typeof res.body.database.rtt_ms).toBe('number')
    expect(typeof res.body.outbox.pending).toBe('number')
    expect(JSON.stringify(res.body)).toMatch(/nats.*connected/)
  })
})
