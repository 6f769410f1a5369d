import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { insertEvents } from '../../functions/db/outbox'
import { createPool } from '../../functions/db/pool'
import type { Config } from '../../functions/env'
import { createEvent } from '../../shared/events'
import { call, uniqueName } from './support/call'
import { outboxFor } from './support/database'
import { expectDrainDeliversInOutboxOrder } from './support/drain'
import { countInStream } from './support/stream'

describe('outbox order across concurrent writers of one entity', () => {
  it('a write that commits after an older writer of its entity is held back, then delivered after it', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('commit-order'), type: 'strategy', version: '1.0.0' },
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id

    // another writer (as an inbound webhook does) records an event for the entity and has not committed
    const older = createEvent({
      event_type: 'performance.threshold_exceeded',
      entity_id: id,
      data: { metric: 'latency_ms', threshold: 10, value: 12, window: '1m' },
      metadata: {},
    })
    const pool = createPool(env as unknown as Pick<Config, 'DATABASE_URL' | 'PG_WS_PROXY'>)
    const tx = await pool.connect()
    try {
      await tx.query('begin')
      await insertEvents(tx, [older])

      const change = call(`/api/v1/entities/${id}`, { method: 'PATCH', json: { description: 'after' } })
      await new Promise((resolve) => setTimeout(resolve, 200))
      await tx.query('commit')
      const answer = await change
      expect(answer.status).toBe(200)
    } finally {
      tx.release()
      await pool.end()
    }

    const rows = await outboxFor(id)
    const updated = rows.find((r) => r.event_type === 'entity.updated')!
    const olderRow = rows.find((r) => r.event_id === older.event_id)!
    expect(Number(olderRow.id)).toBeLessThan(Number(updated.id))
    // the post-commit delivery saw the older undelivered event and left the newer one to the drain
    expect(updated.delivered_at).toBeNull()
    expect(await countInStream([updated.event_id])).toEqual({ [updated.event_id]: 0 })

    await expectDrainDeliversInOutboxOrder(id)
  })
})
