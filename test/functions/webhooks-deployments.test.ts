import { describe, expect, it } from 'vitest'
import { call, uniqueName } from './support/call'
import { messageAt } from './support/stream'
import { newWebhookId, outboxEventsWhere, receiptCount, sendWebhook } from './support/webhooks'

const deploymentWebhook = (type: string, data: Record<string, unknown>) => ({
  type,
  timestamp: new Date().toISOString(),
  data,
})

const startDeployment = async () => {
  const entity = await call('/api/v1/entities', {
    json: { name: uniqueName('webhook_deploy'), type: 'strategy', version: '1.0.0' },
  })
  expect(entity.status).toBe(201)
  const deployment = await call('/api/v1/deployments', {
    json: { entity_id: entity.body.id, environment: 'staging' },
  })
  expect(deployment.status).toBe(201)
  return { entityId: entity.body.id as string, deploymentId: deployment.body.id as string }
}

describe('deployment webhooks drive the deployment state machine', () => {
  it('completes a deployment started through the REST API and emits deployment.completed', async () => {
    const { entityId, deploymentId } = await startDeployment()

    const res = await sendWebhook(
      'monitor',
      deploymentWebhook('deployment.succeeded', { deployment_id: deploymentId }),
    )
    expect(res.status).toBe(200)
    expect(res.body.events).toEqual([{ event_id: expect.any(String), event_type: 'deployment.completed' }])

    const deployment = await call(`/api/v1/deployments/${deploymentId}`)
    expect(deployment.body.status).toBe('completed')

    const events = await outboxEventsWhere('deployment_id', deploymentId)
    expect(events.map((e) => e.event_type)).toEqual(['deployment.started', 'deployment.completed'])
    const completed = events[1]!
    expect(completed.delivered_at).not.toBeNull()
    const message = await messageAt('library.deployment.completed', Number(completed.stream_seq))
    expect(message.data).toMatchObject({
      event_id: res.body.events[0]!.event_id,
      event_type: 'deployment.completed',
      entity_id: entityId,
      deployment_id: deploymentId,
      environment: 'staging',
      version: '1.0.0',
      metadata: { actor: 'webhook:monitor' },
    })
  })

  it('an illegal transition is a 409, emits nothing and is not recorded as seen', async () => {
    const { deploymentId } = await startDeployment()
    const ok = await sendWebhook(
      'monitor',
      deploymentWebhook('deployment.failed', { deployment_id: deploymentId, error: 'smoke tests failed' }),
    )
    expect(ok.status).toBe(200)
    expect(ok.body.events[0]!.event_type).toBe('deployment.failed')

    const id = newWebhookId()
    const illegal = await sendWebhook(
      'monitor',
      deploymentWebhook('deployment.succeeded', { deployment_id: deploymentId }),
      {
        id,
      },
    )
    expect(illegal.status).toBe(409)
    expect(illegal.body.error).toMatchObject({
      code: 'invalid_transition',
      details: { current_status: 'failed' },
    })
    expect(await receiptCount('monitor', id)).toBe(0)

    const viaRest = await call(`/api/v1/deployments/${deploymentId}/complete`, { method: 'POST' })
    expect(viaRest.status).toBe(409)
    expect(viaRest.body.error.code).toBe(illegal.body.error.code)

    expect((await outboxEventsWhere('deployment_id', deploymentId)).map((e) => e.event_type)).toEqual([
      'deployment.started',
      'deployment.failed',
    ])

    const rolledBack = await sendWebhook(
      'monitor',
      deploymentWebhook('deployment.rolled_back', { deployment_id: deploymentId, reason: 'bad release' }),
    )
    expect(rolledBack.status).toBe(200)
    expect((await call(`/api/v1/deployments/${deploymentId}`)).body).toMatchObject({
      status: 'rolled_back',
      rollback_reason: 'bad release',
    })
  })

  it('404 for an unknown deployment', async () => {
    const res = await sendWebhook(
      'monitor',
      deploymentWebhook('deployment.succeeded', { deployment_id: crypto.randomUUID() }),
    )
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('deployment_not_found')
  })
})
