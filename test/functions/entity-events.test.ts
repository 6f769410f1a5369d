import { describe, expect, it } from 'vitest'
import { TEST_API_KEYS } from './support/api-keys'
import { call, uniqueName } from './support/call'
import { outboxFor } from './support/database'
import { expectDelivered } from './support/expect-delivered'

describe('entity lifecycle events', () => {
  it('register, update, validate and delete each publish their event with the contract fields', async () => {
    const name = uniqueName('momentum')
    const created = await call('/api/v1/entities', {
      json: {
        name,
        type: 'strategy',
        version: '1.0.0',
        description: 'Momentum on large caps',
        config: { symbols: ['AAPL'], max_position: 100 },
        metadata: { team: 'alpha' },
      },
    })
    expect(created.status).toBe(201)
    const id: string = created.body.id
    expect(created.body).toMatchObject({ name, type: 'strategy', version: '1.0.0', status: 'active' })
    expect(created.headers.get('location')).toBe(`/api/v1/entities/${id}`)

    const registered = await expectDelivered(id, 'entity.registered')
    expect(registered).toMatchObject({
      event_type: 'entity.registered',
      entity_id: id,
      entity_name: name,
      entity_type: 'strategy',
      version: '1.0.0',
      deployment_id: null,
      swap_id: null,
    })

    const fetched = await call(`/api/v1/entities/${id}`, { key: TEST_API_KEYS.reader.key })
    expect(fetched.status).toBe(200)
    expect(fetched.body.id).toBe(id)

    const updated = await call(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: {
        description: 'Momentum on large caps, v2 notes',
        config: { symbols: ['AAPL'], max_position: 100 },
      },
    })
    expect(updated.status).toBe(200)
    expect(updated.body.description).toBe('Momentum on large caps, v2 notes')
    const updateEvent = await expectDelivered(id, 'entity.updated')
    // config did not change, so only description is reported
    expect(updateEvent.data.changes).toEqual({
      description: { from: 'Momentum on large caps', to: 'Momentum on large caps, v2 notes' },
    })

    const validated = await call(`/api/v1/entities/${id}/validate`, { method: 'POST' })
    expect(validated.status).toBe(200)
    expect(validated.body.valid).toBe(true)
    const validateEvent = await expectDelivered(id, 'entity.validated')
    expect(validateEvent.data.valid).toBe(true)
    expect(validateEvent.data.results.map((r: { rule: string }) => r.rule)).toEqual([
      'name_format',
      'description_present',
      'stable_version',
      'config.symbols',
      'config.max_position',
    ])

    const deleted = await call(`/api/v1/entities/${id}`, { method: 'DELETE', json: { reason: 'retired' } })
    expect(deleted.status).toBe(200)
    expect(deleted.body.status).toBe('deleted')
    const deleteEvent = await expectDelivered(id, 'entity.deleted')
    expect(deleteEvent.data).toEqual({ entity_name: name, version: '1.0.0', reason: 'retired' })

    // per-entity order on the stream follows the order of the changes
    const seqs = (await outboxFor(id)).map((r) => Number(r.stream_seq))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  })

  it('validation reports each failing rule of the entity type', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('ema'), type: 'indicator', version: '2.0.0-rc.1', config: { period: -3 } },
    })
    expect(created.status).toBe(201)
    const res = await call(`/api/v1/entities/${created.body.id}/validate`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.body.valid).toBe(false)
    const failed = res.body.results
      .filter((r: { passed: boolean }) => !r.passed)
      .map((r: { rule: string }) => r.rule)
    expect(failed).toEqual(['description_present', 'stable_version', 'config.period'])
    expect(res.body.entity.validation.status).toBe('failed')
    const event = await expectDelivered(created.body.id, 'entity.validated')
    expect(event.data.valid).toBe(false)
  })

  it('a deleted entity cannot be changed, validated or deployed', async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('gone'), type: 'model', version: '1.0.0' },
    })
    const id = created.body.id
    expect((await call(`/api/v1/entities/${id}`, { method: 'DELETE' })).status).toBe(200)
    const attempts = [
      await call(`/api/v1/entities/${id}`, { method: 'PATCH', json: { description: 'again' } }),
      await call(`/api/v1/entities/${id}/validate`, { method: 'POST' }),
      await call(`/api/v1/entities/${id}`, { method: 'DELETE' }),
      await call('/api/v1/deployments', { json: { entity_id: id, environment: 'dev' } }),
    ]
    for (const res of attempts) {
      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('entity_deleted')
    }
    expect((await outboxFor(id)).map((r) => r.event_type)).toEqual(['entity.registered', 'entity.deleted'])
  })
})
