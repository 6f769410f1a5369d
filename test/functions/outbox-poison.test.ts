import { describe, expect, it } from 'vitest'
import { entityKeyOf } from '../../functions/db/outbox'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { subjectFor } from '../../shared/subjects'
import { call, uniqueName } from './support/call'
import { outboxFor, query } from './support/database'
import { expectDelivered } from './support/expect-delivered'
import { runScheduled } from './support/scheduled'

const nested = (levels: number): unknown => {
  let value: unknown = 'bottom'
  for (let i = 0; i < levels; i++) value = { next: value }
  return value
}

const degraded = (entityId: string, metadata: Record<string, unknown> = {}) =>
  createEvent({
    event_type: 'performance.threshold_exceeded',
    entity_id: entityId,
    data: { metric: 'latency_ms', value: 12, threshold: 10, window: '1m' },
    metadata,
  })

const record = (events: readonly LibraryEvent[]) =>
  query(
    `insert into outbox (event_id, event_type, subject, entity_key, payload)
     select (e->>'event_id')::uuid, e->>'event_type', e->>'subject', e->>'entity_key', e->'payload'
       from jsonb_array_elements($1::jsonb) with ordinality as x(e, n) order by n`,
    [
      JSON.stringify(
        events.map((event) => ({
          event_id: event.event_id,
          event_type: event.event_type,
          subject: subjectFor(event.event_type),
          entity_key: entityKeyOf(event),
          payload: event,
        })),
      ),
    ],
  )

describe('an event the bridge will never take', () => {
  it('holds back only itself and its entity’s later events; the drain delivers every other row', async () => {
    const poisoned = crypto.randomUUID()
    const healthy = crypto.randomUUID()
    const poison = degraded(poisoned, { deep: nested(60) })
    const behindPoison = degraded(poisoned)
    const fine = degraded(healthy)
    await record([poison, behindPoison, fine])
    try {
      await runScheduled()
      const [poisonRow, behindRow] = await outboxFor(poisoned)
      const [fineRow] = await outboxFor(healthy)
      expect(fineRow!.delivered_at).not.toBeNull()
      expect(poisonRow!.delivered_at).toBeNull()
      expect(poisonRow!.last_error).toMatch(/json_too_deep/)
      expect(behindRow!.delivered_at).toBeNull()
      expect(behindRow!.last_error).toMatch(/held back/)
    } finally {
      await query('delete from outbox where entity_key = $1', [poisoned])
    }
  })

  it('entity config at the input limit makes events the bridge takes, however deep they wrap it', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('deep-event'), type: 'model', version: '1.0.0', config: nested(32) },
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id
    await expectDelivered(id, 'entity.registered')
    const changed = await call(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { config: { other: nested(31) } },
    })
    expect(changed.status).toBe(200)
    await expectDelivered(id, 'entity.updated')
  })
})
