import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import { TEST_API_KEYS } from './support/api-keys'
import { type CallOptions, type CallResult, call, uniqueName } from './support/call'
import { type OutboxRecord, outboxFor, query } from './support/database'
import { strategy } from './support/entities'
import { expectDelivered } from './support/expect-delivered'
import { connectNats, type NatsWire, parseHeaders, type WireMessage } from './support/nats-wire'
import { runScheduled } from './support/scheduled'
import { healthPayload, outboxEventsForComponent, sendWebhook } from './support/webhooks'

/**
 * The edge client's W3C trace context goes on through the functions: into every event's metadata
 * (and so its outbox row), onto the NATS message the bridge publishes, and with the swap command
 * relayed to the executor. NATS is read directly, over a socket, to see message headers.
 */

const TRACESTATE = 'library=t61rcWkgMzE,congo=BleGNlZWRzIHRohbCBwbGVhc3VyZS4'
const PARENT_ID = 'b7ad6b7169203331'
// Nothing listens on port 1: post-commit delivery fails and the row waits for the Cron drain.
const BRIDGE_DOWN = { BRIDGE_URL: 'http://127.0.0.1:1' }

/** A trace id no other test uses (32 lowercase hex digits). */
const newTraceId = () => crypto.randomUUID().replaceAll('-', '')
const traceparentOf = (traceId: string) => `00-${traceId}-${PARENT_ID}-01`
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1]

let nats: NatsWire
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'))
})
afterAll(async () => {
  await nats?.close()
})

const decodeBase64 = (text: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)))

interface StoredMessage {
  headers: Map<string, string>
  event: { event_id: string; metadata: Record<string, unknown> }
}

/** The message the stream holds at `seq`, headers included, through JetStream's message-get API. */
const storedMessage = async (seq: number): Promise<StoredMessage> => {
  const reply = await nats.request(`$JS.API.STREAM.MSG.GET.${STREAM_NAME}`, JSON.stringify({ seq }))
  const { message, error } = reply.json<{
    message?: { hdrs?: string; data: string }
    error?: { description: string }
  }>()
  if (!message) throw new Error(`no message at stream seq ${seq}: ${error?.description}`)
  return {
    headers: message.hdrs ? parseHeaders(decodeBase64(message.hdrs)) : new Map(),
    event: JSON.parse(decodeBase64(message.data)),
  }
}

const createEntity = (options: Pick<CallOptions, 'headers' | 'env'> = {}) =>
  call('/api/v1/entities', {
    ...options,
    json: { name: uniqueName('traced'), type: 'strategy', version: '1.0.0', config: { symbols: ['AAPL'] } },
  })

const rowOf = async (entityKey: string, eventType: string): Promise<OutboxRecord> => {
  const rows = (await outboxFor(entityKey)).filter((r) => r.event_type === eventType)
  expect(rows).toHaveLength(1)
  return rows[0]!
}

const TRACE_KEYS = ['traceparent', 'tracestate']
const traceKeysIn = (metadata: unknown) =>
  Object.keys(metadata as Record<string, unknown>).filter((key) => TRACE_KEYS.includes(key))

describe('trace context of API requests', () => {
  it('a valid traceparent and tracestate go into the event metadata and the outbox row; the NATS message continues the trace', async () => {
    const traceId = newTraceId()
    const traceparent = traceparentOf(traceId)
    const created = await createEntity({ headers: { traceparent, tracestate: TRACESTATE } })
    expect(created.status).toBe(201)
    const id: string = created.body.id

    const row = await rowOf(id, 'entity.registered')
    expect(row.payload.metadata).toEqual({
      actor: TEST_API_KEYS.writer.name,
      request_id: created.headers.get('x-request-id'),
      traceparent,
      tracestate: TRACESTATE,
    })
    const delivered = await expectDelivered(id, 'entity.registered')
    expect(delivered.metadata).toMatchObject({ traceparent, tracestate: TRACESTATE })

    const stored = await storedMessage(Number(row.stream_seq))
    expect(stored.event.event_id).toBe(row.event_id)
    expect(stored.event.metadata).toMatchObject({ traceparent, tracestate: TRACESTATE })
    expect(traceIdOf(stored.headers.get('traceparent'))).toBe(traceId)
  })

  it('each request records its own trace context, on every route that writes events', async () => {
    const created = await createEntity()
    expect(created.status).toBe(201)
    const id: string = created.body.id
    const traces = { patch: newTraceId(), validate: newTraceId(), deploy: newTraceId() }

    const patched = await call(`/api/v1/entities/${id}`, {
      method: 'PATCH',
      json: { description: 'traced change' },
      headers: { traceparent: traceparentOf(traces.patch) },
    })
    expect(patched.status).toBe(200)
    const validated = await call(`/api/v1/entities/${id}/validate`, {
      method: 'POST',
      headers: { traceparent: traceparentOf(traces.validate), tracestate: TRACESTATE },
    })
    expect(validated.status).toBe(200)
    const started = await call('/api/v1/deployments', {
      json: { entity_id: id, environment: 'paper' },
      headers: { traceparent: traceparentOf(traces.deploy) },
    })
    expect(started.status).toBe(201)

    expect((await rowOf(id, 'entity.registered')).payload.metadata).not.toHaveProperty('traceparent')
    expect((await rowOf(id, 'entity.updated')).payload.metadata).toMatchObject({
      traceparent: traceparentOf(traces.patch),
    })
    expect((await rowOf(id, 'entity.updated')).payload.metadata).not.toHaveProperty('tracestate')
    expect((await rowOf(id, 'entity.validated')).payload.metadata).toMatchObject({
      traceparent: traceparentOf(traces.validate),
      tracestate: TRACESTATE,
    })
    const deployment = await rowOf(id, 'deployment.started')
    expect(deployment.payload.metadata).toMatchObject({ traceparent: traceparentOf(traces.deploy) })
    const stored = await storedMessage(Number(deployment.stream_seq))
    expect(traceIdOf(stored.headers.get('traceparent'))).toBe(traces.deploy)
  })

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['version ff', `ff-${newTraceId()}-${PARENT_ID}-01`],
    ['uppercase hex', `00-${newTraceId().toUpperCase()}-${PARENT_ID}-01`],
    ['a value too long', `00-${newTraceId()}-${PARENT_ID}-01-extra`],
  ])(
    'an invalid traceparent (%s) is dropped, with its tracestate; the request still succeeds',
    async (_, traceparent) => {
      const created = await createEntity({ headers: { traceparent, tracestate: TRACESTATE } })
      expect(created.status).toBe(201)
      const row = await rowOf(created.body.id, 'entity.registered')
      expect(row.delivered_at).not.toBeNull()
      expect(traceKeysIn(row.payload.metadata)).toEqual([])
    },
  )

  it('without a traceparent header the metadata has no trace keys, even with a tracestate', async () => {
    const plain = await createEntity()
    const stateOnly = await createEntity({ headers: { tracestate: TRACESTATE } })
    for (const created of [plain, stateOnly]) {
      expect(created.status).toBe(201)
      const row = await rowOf(created.body.id, 'entity.registered')
      expect(row.payload.metadata).toEqual({
        actor: TEST_API_KEYS.writer.name,
        request_id: created.headers.get('x-request-id'),
      })
    }
  })

  it('an inbound webhook records the trace context of its delivery request', async () => {
    const traceparent = traceparentOf(newTraceId())
    const component = uniqueName('traced_feed')
    try {
      const sent = await sendWebhook('monitor', healthPayload('health.degraded', component), {
        headers: (signed) => ({ ...signed, traceparent, tracestate: TRACESTATE }),
      })
      expect(sent.status).toBe(200)
      const [event] = await outboxEventsForComponent(component)
      expect(event?.payload.metadata).toMatchObject({
        actor: 'webhook:monitor',
        traceparent,
        tracestate: TRACESTATE,
      })
    } finally {
      // the database is shared by every workers test file: a component left degraded would turn
      // their /health/detailed checks to `degraded`
      const recovered = await sendWebhook('monitor', healthPayload('health.recovered', component))
      expect(recovered.status).toBe(200)
    }
  })
})

/** Stands in for the backoff having elapsed. */
const makeDue = (ids: string[]) =>
  query(`update outbox set next_attempt_at = now() where id = any($1::bigint[])`, [ids])

describe('trace context in the outbox', () => {
  it('the Cron drain sends the recorded trace context again: each event of a batch keeps its own trace', async () => {
    const traceIds = [newTraceId(), newTraceId()]
    const ids: string[] = []
    for (const traceId of traceIds) {
      const created = await createEntity({
        headers: { traceparent: traceparentOf(traceId) },
        env: BRIDGE_DOWN,
      })
      expect(created.status).toBe(201)
      ids.push(created.body.id)
    }
    const pending = await Promise.all(ids.map((id) => rowOf(id, 'entity.registered')))
    for (const [i, row] of pending.entries()) {
      expect(row.delivered_at).toBeNull()
      expect(row.payload.metadata).toMatchObject({ traceparent: traceparentOf(traceIds[i]!) })
    }

    await makeDue(pending.map((r) => r.id))
    await runScheduled()

    for (const [i, id] of ids.entries()) {
      const row = await rowOf(id, 'entity.registered')
      expect(row.delivered_at).not.toBeNull()
      const stored = await storedMessage(Number(row.stream_seq))
      expect(stored.event.metadata).toMatchObject({ traceparent: traceparentOf(traceIds[i]!) })
      expect(traceIdOf(stored.headers.get('traceparent'))).toBe(traceIds[i])
    }
  })
})

describe('trace context of a swap', () => {
  it('the relayed command carries traceparent and tracestate to the executor; the swap events record them', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const traceId = newTraceId()
    const traceparent = traceparentOf(traceId)
    const received: WireMessage[] = []
    const executor = await connectNats(inject('natsUrl'))
    let res: CallResult
    try {
      await executor.subscribe('library.swap.command', (msg) => {
        if (!msg.replyTo) return
        const command = msg.json<{ swap_id: string; from_entity_id: string }>()
        // other test files run alongside and expect nobody to listen: theirs get what nats-server
        // itself answers then, an empty 503 status message
        if (command.from_entity_id.toLowerCase() !== from) {
          void executor.publish(msg.replyTo, '', { status: 503 })
          return
        }
        received.push(msg)
        const response = { swap_id: command.swap_id, status: 'completed', success: true, message: 'swapped' }
        void executor.publish(msg.replyTo, JSON.stringify(response))
      })
      res = await call('/api/v1/swaps', {
        json: { from_entity_id: from, to_entity_id: to, reason: 'traced', initiated_by: 'trace-tests' },
        headers: { traceparent, tracestate: TRACESTATE },
      })
    } finally {
      await executor.close()
    }
    expect(res.status).toBe(200)
    expect(received).toHaveLength(1)
    const headers = received[0]!.headers
    expect(traceIdOf(headers.get('traceparent'))).toBe(traceId)
    expect(headers.get('tracestate')).toBe(TRACESTATE)

    const swapId: string = res.body.swap_id
    const rows = await outboxFor(swapId)
    expect(rows.map((r) => r.event_type)).toEqual(['swap.initiated', 'swap.completed'])
    for (const row of rows) {
      expect(row.payload.metadata).toMatchObject({ traceparent, tracestate: TRACESTATE })
      const stored = await storedMessage(Number(row.stream_seq))
      expect(traceIdOf(stored.headers.get('traceparent'))).toBe(traceId)
    }
  })
})
