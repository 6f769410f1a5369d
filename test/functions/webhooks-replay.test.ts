import { describe, expect, it } from 'vitest'
import { lastStreamSeq } from './support/stream'
import {
  newWebhookId,
  nowSeconds,
  outboxEventsWhere,
  performancePayload,
  readStreamUntil,
  receiptCount,
  SECRETS,
  sendWebhook,
} from './support/webhooks'

const SUBJECT = 'library.performance.threshold_exceeded'

describe('POST /webhooks/{source}: replay protection', () => {
  it('answers a repeated webhook-id with the first result and emits one event', async () => {
    const entityId = crypto.randomUUID()
    const id = newWebhookId()
    const payload = performancePayload(entityId)
    const timestamp = nowSeconds()

    const first = await sendWebhook('monitor', payload, { id, timestamp })
    expect(first.status).toBe(200)
    expect(first.headers.get('webhook-replayed')).toBe('false')

    const again = await sendWebhook('monitor', payload, { id, timestamp: timestamp + 1 })
    expect(again.status).toBe(200)
    expect(again.headers.get('webhook-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)

    expect((await outboxEventsWhere('entity_id', entityId)).map((e) => e.event_id)).toEqual([
      first.body.events[0]!.event_id,
    ])
    expect(await receiptCount('monitor', id)).toBe(1)
  })

  it('records the entity_id in lower case, as the entity rows and their events have it', async () => {
    const entityId = crypto.randomUUID()
    const res = await sendWebhook('monitor', performancePayload(entityId.toUpperCase()))
    expect(res.status).toBe(200)
    const events = await outboxEventsWhere('entity_id', entityId)
    expect(events.map((e) => e.event_id)).toEqual([res.body.events[0]!.event_id])
  })

  it('keeps webhook-ids per source', async () => {
    const id = newWebhookId()
    const a = await sendWebhook('monitor', performancePayload(crypto.randomUUID()), { id })
    const b = await sendWebhook('rotating', performancePayload(crypto.randomUUID()), {
      id,
      secret: SECRETS.rotatedNew,
    })
    expect([a.status, b.status]).toEqual([200, 200])
    expect(b.headers.get('webhook-replayed')).toBe('false')
    expect(b.body.events[0]!.event_id).not.toBe(a.body.events[0]!.event_id)
  })

  it('concurrent repeats of one webhook-id produce exactly one event on NATS', async () => {
    const startSeq = await lastStreamSeq()
    const entityId = crypto.randomUUID()
    const id = newWebhookId()
    const payload = performancePayload(entityId)
    const timestamp = nowSeconds()

    const responses = await Promise.all(
      Array.from({ length: 6 }, () => sendWebhook('monitor', payload, { id, timestamp })),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200))
    const eventIds = new Set(responses.map((r) => r.body.events[0]!.event_id))
    expect(eventIds.size).toBe(1)
    expect(responses.filter((r) => r.headers.get('webhook-replayed') === 'false')).toHaveLength(1)

    const stored = await outboxEventsWhere('entity_id', entityId)
    expect(stored).toHaveLength(1)

    const sentinel = await sendWebhook('monitor', performancePayload(crypto.randomUUID()))
    const messages = await readStreamUntil(SUBJECT, startSeq, sentinel.body.events[0]!.event_id)
    expect(messages.filter((m) => m.data.entity_id === entityId).map((m) => m.data.event_id)).toEqual([
      ...eventIds,
    ])
  })
})
