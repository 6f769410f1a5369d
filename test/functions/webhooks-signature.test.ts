import { describe, expect, it } from 'vitest'
import { signWebhook } from '../../shared/webhook-signing'
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

interface Vector {
  name: string
  source?: string
  status: number
  code?: string
  send: (payload: ReturnType<typeof performancePayload>, id: string) => ReturnType<typeof sendWebhook>
}

const dropHeader = (name: string) => (signed: Record<string, string>) => {
  const { [name]: _dropped, ...rest } = signed
  return rest
}

const VECTORS: Vector[] = [
  { name: 'valid signature', status: 200, send: (p, id) => sendWebhook('monitor', p, { id }) },
  {
    name: 'several signatures, one valid',
    status: 200,
    send: async (p, id) => {
      const body = JSON.stringify(p)
      const timestamp = nowSeconds()
      const wrong = await signWebhook({ secret: SECRETS.other, id, timestamp, body })
      return sendWebhook('monitor', body, {
        id,
        timestamp,
        headers: (signed) => ({
          ...signed,
          'webhook-signature': `v1a,bm90LWEtc2ln ${wrong} ${signed['webhook-signature']}`,
        }),
      })
    },
  },
  {
    name: 'signed with the old secret while rotating',
    status: 200,
    send: (p, id) => sendWebhook('rotating', p, { id, secret: SECRETS.rotatedOld }),
  },
  {
    name: 'signed with the new secret while rotating',
    status: 200,
    send: (p, id) => sendWebhook('rotating', p, { id, secret: SECRETS.rotatedNew }),
  },
  {
    name: 'tampered body',
    status: 401,
    code: 'bad_signature',
    send: (p, id) =>
      sendWebhook('monitor', p, {
        id,
        sentBody: JSON.stringify({ ...p, data: { ...p.data, value: 99 } }),
      }),
  },
  {
    name: 'wrong secret',
    status: 401,
    code: 'bad_signature',
    send: (p, id) => sendWebhook('monitor', p, { id, secret: SECRETS.other }),
  },
  {
    name: 'timestamp 299 s old',
    status: 200,
    send: (p, id) => sendWebhook('monitor', p, { id, timestamp: nowSeconds() - 299 }),
  },
  {
    name: 'timestamp 301 s old',
    status: 401,
    code: 'stale_timestamp',
    send: (p, id) => sendWebhook('monitor', p, { id, timestamp: nowSeconds() - 301 }),
  },
  {
    name: 'timestamp 299 s ahead',
    status: 200,
    send: (p, id) => sendWebhook('monitor', p, { id, timestamp: nowSeconds() + 299 }),
  },
  {
    name: 'timestamp 301 s ahead',
    status: 401,
    code: 'future_timestamp',
    send: (p, id) => sendWebhook('monitor', p, { id, timestamp: nowSeconds() + 301 }),
  },
  ...['webhook-id', 'webhook-timestamp', 'webhook-signature'].map(
    (header): Vector => ({
      name: `missing ${header}`,
      status: 401,
      code: 'missing_header',
      send: (p, id) => sendWebhook('monitor', p, { id, headers: dropHeader(header) }),
    }),
  ),
]

describe('POST /webhooks/{source}: Standard Webhooks verification', () => {
  it('accepts exactly the validly signed deliveries and only those reach NATS', async () => {
    const startSeq = await lastStreamSeq()
    const outcomes: Array<{ vector: Vector; entityId: string; id: string; eventId?: string }> = []

    for (const vector of VECTORS) {
      const entityId = crypto.randomUUID()
      const id = newWebhookId()
      const res = await vector.send(performancePayload(entityId), id)
      expect({ vector: vector.name, status: res.status }).toEqual({
        vector: vector.name,
        status: vector.status,
      })
      if (vector.code) expect(res.body.error.code).toBe(vector.code)

      const stored = await outboxEventsWhere('entity_id', entityId)
      if (vector.status === 200) {
        expect(res.body.events).toHaveLength(1)
        expect(stored.map((e) => e.event_id)).toEqual([res.body.events[0]!.event_id])
        expect(stored[0]!.delivered_at).not.toBeNull()
        outcomes.push({ vector, entityId, id, eventId: res.body.events[0]!.event_id })
      } else {
        expect(stored).toEqual([])
        expect(await receiptCount(vector.source ?? 'monitor', id)).toBe(0)
        outcomes.push({ vector, entityId, id })
      }
    }

    const sentinel = crypto.randomUUID()
    const last = await sendWebhook('monitor', performancePayload(sentinel))
    expect(last.status).toBe(200)
    const messages = await readStreamUntil(SUBJECT, startSeq, last.body.events[0]!.event_id)

    const ours = new Map(outcomes.map((o) => [o.entityId, o]))
    const onNats = messages.filter((m) => ours.has(String(m.data.entity_id)))
    expect(onNats.map((m) => m.data.event_id).sort()).toEqual(
      outcomes.flatMap((o) => (o.eventId ? [o.eventId] : [])).sort(),
    )
    for (const message of onNats) {
      expect(message.data).toMatchObject({
        event_type: 'performance.threshold_exceeded',
        source: 'library_service',
        data: { metric: 'drawdown_pct', value: 12.5, threshold: 10, window: '1h' },
        metadata: { actor: expect.stringMatching(/^webhook:(monitor|rotating)$/) },
      })
    }
  })
})

describe('POST /webhooks/{source}: request checks', () => {
  it('404 for an unknown source, before anything else', async () => {
    const res = await sendWebhook('nobody', performancePayload(crypto.randomUUID()))
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('unknown_source')
  })

  it('403 when the source may not send that type, with nothing stored', async () => {
    const entityId = crypto.randomUUID()
    const id = newWebhookId()
    const res = await sendWebhook('health-only', performancePayload(entityId), { id })
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('type_not_allowed')
    expect(await outboxEventsWhere('entity_id', entityId)).toEqual([])
    expect(await receiptCount('health-only', id)).toBe(0)
  })

  it('415 for a body that is not declared JSON', async () => {
    const res = await sendWebhook('monitor', performancePayload(crypto.randomUUID()), {
      contentType: 'text/plain',
    })
    expect(res.status).toBe(415)
    expect(res.body.error.code).toBe('unsupported_media_type')
  })

  it('413 for a body over the source limit', async () => {
    const payload = performancePayload(crypto.randomUUID())
    const res = await sendWebhook('tiny', { ...payload, data: { ...payload.data, padding: 'x'.repeat(600) } })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('payload_too_large')
  })

  it('400 for a verified body that is not JSON, an unknown type or invalid data', async () => {
    const notJson = await sendWebhook('monitor', '{"type":')
    expect(notJson.status).toBe(400)
    expect(notJson.body.error.code).toBe('malformed_json')

    const unknownType = await sendWebhook('monitor', {
      type: 'x.y',
      timestamp: new Date().toISOString(),
      data: {},
    })
    expect(unknownType.status).toBe(400)
    expect(unknownType.body.error.code).toBe('unknown_webhook_type')

    const entityId = crypto.randomUUID()
    const payload = performancePayload(entityId)
    const invalid = await sendWebhook('monitor', { ...payload, data: { ...payload.data, value: 'high' } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.code).toBe('invalid_input')
    expect(invalid.body.error.details).toEqual([expect.objectContaining({ path: 'data.value' })])
    expect(await outboxEventsWhere('entity_id', entityId)).toEqual([])
  })
})
