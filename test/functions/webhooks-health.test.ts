import { describe, expect, it } from 'vitest'
import { call, uniqueName } from './support/call'
import { messageAt } from './support/stream'
import { healthPayload, outboxEventsForComponent, sendWebhook } from './support/webhooks'

interface Detailed {
  status: string
  components: Array<{ component: string; degraded: boolean; status: string; details: unknown }>
  degraded_components: string[]
}

// with an API key: a check made after the call, not the snapshot anonymous callers get
const detailed = async () => (await call<Detailed>('/health/detailed')).body

describe('health webhooks and /health/detailed', () => {
  it('a degraded component shows in /health/detailed until it recovers', async () => {
    const component = uniqueName('risk_engine')

    const degraded = await sendWebhook('health-only', healthPayload('health.degraded', component))
    expect(degraded.status).toBe(200)
    const down = await detailed()
    expect(down.status).toBe('degraded')
    expect(down.degraded_components).toContain(component)
    expect(down.components).toContainEqual(
      expect.objectContaining({
        component,
        degraded: true,
        status: 'degraded',
        details: { error_rate: 0.2 },
      }),
    )

    const recovered = await sendWebhook('health-only', healthPayload('health.recovered', component))
    expect(recovered.status).toBe(200)
    const up = await detailed()
    expect(up.degraded_components).not.toContain(component)
    expect(up.components).toContainEqual(
      expect.objectContaining({ component, degraded: false, status: 'healthy' }),
    )

    const events = await outboxEventsForComponent(component)
    expect(events.map((e) => e.event_type)).toEqual(['health.degraded', 'health.recovered'])
    for (const event of events) {
      const message = await messageAt(`library.${event.event_type}`, Number(event.stream_seq))
      expect(message.data).toMatchObject({ event_id: event.event_id, data: { component } })
    }
  })

  it('a report older than the stored one does not move the component back', async () => {
    const component = uniqueName('price_feed')
    const recovered = healthPayload('health.recovered', component)
    const current = await sendWebhook('health-only', recovered)
    expect(current.status).toBe(200)
    expect(current.body).toMatchObject({ health: { component, applied: true } })
    expect(current.body).not.toHaveProperty('health.message')
    const late = {
      ...healthPayload('health.degraded', component),
      timestamp: new Date(Date.now() - 60_000).toISOString(),
    }
    const answer = await sendWebhook('health-only', late)
    expect(answer.status).toBe(200)
    // accepted and emitted, but the answer says the state did not move
    expect(answer.body).toMatchObject({
      status: 'accepted',
      events: [{ event_type: 'health.degraded' }],
      health: {
        component,
        applied: false,
        message: `The report's timestamp ${late.timestamp} is older than the observation stored for '${component}': the component keeps that state in /health/detailed`,
      },
    })
    const now = await detailed()
    expect(now.degraded_components).not.toContain(component)
    expect(now.components).toContainEqual(expect.objectContaining({ component, degraded: false }))
  })
})
