import { describe, expect, it } from 'vitest'
import { call } from './support/call'
import { query } from './support/database'
import { strategy } from './support/entities'

const body = (from: string, to: string) => ({
  from_entity_id: from,
  to_entity_id: to,
  reason: 'rotation',
  initiated_by: 'workers-tests',
})

describe('POST /api/v1/swaps without an executor', () => {
  it('answers 503 no_responders, records the swap failed and delivers swap.initiated + swap.failed', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const res = await call('/api/v1/swaps', { json: body(from, to) })
    expect(res.status).toBe(503)
    expect(res.body.error).toMatchObject({ code: 'no_responders', details: { status: 'failed' } })
    const swapId: string = res.body.error.details.swap_id
    const stored = await call(`/api/v1/swaps/${swapId}`)
    expect(stored.body).toMatchObject({ status: 'failed', error_code: 'no_responders', from_entity_id: from })
    const rows = await query<{ event_type: string; delivered: boolean }>(
      `select event_type, delivered_at is not null as delivered from outbox where entity_key = $1 order by id`,
      [swapId],
    )
    expect(rows).toEqual([
      { event_type: 'swap.initiated', delivered: true },
      { event_type: 'swap.failed', delivered: true },
    ])
  })

  it('answers the same first result to a retry with the same Idempotency-Key', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const key = crypto.randomUUID()
    const first = await call('/api/v1/swaps', { json: body(from, to), headers: { 'idempotency-key': key } })
    const retry = await call('/api/v1/swaps', { json: body(from, to), headers: { 'idempotency-key': key } })
    expect(first.status).toBe(503)
    expect(retry.status).toBe(503)
    expect(retry.body).toEqual(first.body)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    const swaps = await query(`select id from swaps where from_entity_id = $1`, [from])
    expect(swaps).toHaveLength(1)
    const bad = await call('/api/v1/swaps', {
      json: body(from, to),
      headers: { 'idempotency-key': 'has space' },
    })
    expect(bad.status).toBe(400)
  })
})
