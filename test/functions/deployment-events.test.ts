import { describe, expect, it } from 'vitest'
import { call, uniqueName } from './support/call'
import { outboxFor } from './support/database'
import { expectDelivered } from './support/expect-delivered'

const newEntity = async (version = '1.4.2') => {
  const res = await call('/api/v1/entities', {
    json: { name: uniqueName('deployable'), type: 'execution_algo', version },
  })
  expect(res.status).toBe(201)
  return res.body.id as string
}

describe('deployment lifecycle', () => {
  it('start → complete → rollback publishes the three events; illegal moves are 409 naming the state', async () => {
    const entityId = await newEntity()
    const started = await call('/api/v1/deployments', { json: { entity_id: entityId, environment: 'paper' } })
    expect(started.status).toBe(201)
    const id: string = started.body.id
    expect(started.body).toMatchObject({
      entity_id: entityId,
      environment: 'paper',
      version: '1.4.2',
      status: 'in_progress',
    })
    const startEvent = await expectDelivered(entityId, 'deployment.started')
    expect(startEvent).toMatchObject({
      deployment_id: id,
      entity_id: entityId,
      data: { environment: 'paper', version: '1.4.2' },
    })

    const second = await call('/api/v1/deployments', { json: { entity_id: entityId, environment: 'paper' } })
    expect(second.status).toBe(409)
    expect(second.body.error.code).toBe('deployment_in_progress')

    const rollbackEarly = await call(`/api/v1/deployments/${id}/rollback`, { json: { reason: 'too soon' } })
    expect(rollbackEarly.status).toBe(409)
    expect(rollbackEarly.body.error).toMatchObject({
      code: 'invalid_transition',
      details: { current_status: 'in_progress' },
    })
    expect(rollbackEarly.body.error.message).toContain('in_progress')

    const completed = await call(`/api/v1/deployments/${id}/complete`, { method: 'POST' })
    expect(completed.status).toBe(200)
    expect(completed.body.status).toBe('completed')
    const completeEvent = await expectDelivered(entityId, 'deployment.completed')
    expect(completeEvent).toMatchObject({
      event_type: 'deployment.completed',
      entity_id: entityId,
      deployment_id: id,
      environment: 'paper',
      version: '1.4.2',
    })
    expect(completeEvent.data.duration_ms).toBeGreaterThanOrEqual(0)

    const failLate = await call(`/api/v1/deployments/${id}/fail`, { json: { error: 'late' } })
    expect(failLate.status).toBe(409)
    expect(failLate.body.error.details.current_status).toBe('completed')

    const rolledBack = await call(`/api/v1/deployments/${id}/rollback`, {
      json: { reason: 'latency regression' },
    })
    expect(rolledBack.status).toBe(200)
    expect(rolledBack.body).toMatchObject({ status: 'rolled_back', rollback_reason: 'latency regression' })
    const rollbackEvent = await expectDelivered(entityId, 'deployment.rolled_back')
    expect(rollbackEvent.data).toEqual({
      environment: 'paper',
      version: '1.4.2',
      reason: 'latency regression',
    })

    const again = await call(`/api/v1/deployments/${id}/rollback`, { json: { reason: 'twice' } })
    expect(again.status).toBe(409)
    expect(again.body.error.details.current_status).toBe('rolled_back')

    const fetched = await call(`/api/v1/deployments/${id}`, { method: 'GET' })
    expect(fetched.status).toBe(200)
    expect(fetched.body.status).toBe('rolled_back')
    // refused transitions wrote no event
    expect((await outboxFor(entityId)).map((r) => r.event_type)).toEqual([
      'entity.registered',
      'deployment.started',
      'deployment.completed',
      'deployment.rolled_back',
    ])
  })

  it('start → fail publishes deployment.failed with the error', async () => {
    const entityId = await newEntity('3.0.0')
    const started = await call('/api/v1/deployments', {
      json: { entity_id: entityId, environment: 'live', version: '3.0.0' },
    })
    expect(started.status).toBe(201)
    const failed = await call(`/api/v1/deployments/${started.body.id}/fail`, {
      json: { error: 'health check timed out' },
    })
    expect(failed.status).toBe(200)
    expect(failed.body).toMatchObject({ status: 'failed', error: 'health check timed out' })
    const event = await expectDelivered(entityId, 'deployment.failed')
    expect(event.data).toEqual({ environment: 'live', version: '3.0.0', error: 'health check timed out' })
  })

  it('refuses a version other than the entity’s and an unknown entity', async () => {
    const entityId = await newEntity('1.0.0')
    const mismatch = await call('/api/v1/deployments', {
      json: { entity_id: entityId, environment: 'dev', version: '1.0.1' },
    })
    expect(mismatch.status).toBe(409)
    expect(mismatch.body.error.code).toBe('version_mismatch')
    const unknown = await call('/api/v1/deployments', {
      json: { entity_id: crypto.randomUUID(), environment: 'dev' },
    })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('entity_not_found')
    const missing = await call(`/api/v1/deployments/${crypto.randomUUID()}/complete`, { method: 'POST' })
    expect(missing.status).toBe(404)
    expect((await outboxFor(entityId)).map((r) => r.event_type)).toEqual(['entity.registered'])
  })

  it('lists deployments filtered by entity, environment and status', async () => {
    const entityId = await newEntity('2.1.0')
    const a = await call('/api/v1/deployments', { json: { entity_id: entityId, environment: 'dev' } })
    const b = await call('/api/v1/deployments', { json: { entity_id: entityId, environment: 'staging' } })
    await call(`/api/v1/deployments/${b.body.id}/complete`, { method: 'POST' })
    const all = await call(`/api/v1/deployments?entity_id=${entityId}`)
    expect(all.status).toBe(200)
    expect(all.body.items.map((d: { id: string }) => d.id)).toEqual([a.body.id, b.body.id])
    const staging = await call(
      `/api/v1/deployments?entity_id=${entityId}&environment=staging&status=completed`,
    )
    expect(staging.body.items.map((d: { id: string }) => d.id)).toEqual([b.body.id])
    const page = await call(`/api/v1/deployments?entity_id=${entityId}&limit=1`)
    expect(page.body.items).toHaveLength(1)
    const next = await call(
      `/api/v1/deployments?entity_id=${entityId}&limit=1&cursor=${page.body.next_cursor}`,
    )
    expect(next.body.items.map((d: { id: string }) => d.id)).toEqual([b.body.id])
    expect(next.body.next_cursor).toBeNull()
  })
})
