import { describe, expect, it } from 'vitest'
import { call, uniqueName } from './support/call'
import { outboxFor, query } from './support/database'
import { expectDrainDeliversInOutboxOrder } from './support/drain'

const CONCURRENT = 6

describe('concurrent changes of one entity (no row locks held across round trips)', () => {
  it('each applies once, none is lost, and its events reach the stream in outbox order', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('contended'), type: 'indicator', version: '1.0.0', config: { period: 3 } },
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id

    const descriptions = Array.from({ length: CONCURRENT }, (_, i) => `concurrent change number ${i}`)
    const answers = await Promise.all([
      ...descriptions.map((description) =>
        call(`/api/v1/entities/${id}`, { method: 'PATCH', json: { description } }),
      ),
      call('/api/v1/deployments', { json: { entity_id: id, environment: 'dev' } }),
      call(`/api/v1/entities/${id}/validate`, { method: 'POST' }),
    ])
    expect(answers.map((a) => a.status)).toEqual([...descriptions.map(() => 200), 201, 200])

    const rows = await outboxFor(id)
    const updates = rows.filter((r) => r.event_type === 'entity.updated')
    expect(updates).toHaveLength(CONCURRENT)
    // each change saw the one before it: its "from" is some other change's "to" (or the original)
    const froms = updates.map(
      (r) => (r.payload.data as { changes: { description: { from: string } } }).changes.description.from,
    )
    const tos = updates.map(
      (r) => (r.payload.data as { changes: { description: { to: string } } }).changes.description.to,
    )
    expect(new Set(tos)).toEqual(new Set(descriptions))
    expect(new Set(froms)).toEqual(new Set(['', ...tos.slice(0, -1)]))
    expect(froms.slice(1)).toEqual(tos.slice(0, -1))
    const [entity] = await query<{ description: string; row_version: string }>(
      'select description, row_version::text as row_version from entities where id = $1',
      [id],
    )
    expect(entity!.description).toBe(tos[tos.length - 1])

    // what the post-commit delivery held back, the drain delivers; stream order follows outbox order
    await expectDrainDeliversInOutboxOrder(id)
  })
})
