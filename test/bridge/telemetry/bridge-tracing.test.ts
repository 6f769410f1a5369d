import { randomBytes } from 'node:crypto'
import { headers, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subjectFor } from '../../../shared/subjects'
import { type BridgeProcess, startBridgeProcess } from '../../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { childOf, type OtlpReceiver, SPAN_KIND, startOtlpReceiver } from '../../support/otlp-receiver'
import {
  bearer,
  entityRegistered,
  healthDegraded,
  jsonHeaders,
  natsClient,
  type PublishResponse,
  postEvents,
  readStream,
} from '../support/bridge-client'
import { Receiver } from '../support/receiver'
import { SseTestClient } from '../support/sse-client'
import { apiClient } from '../support/subscriptions'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const traceparentOf = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`

let otlp: OtlpReceiver
let nats: NatsServerHandle
let bridge: BridgeProcess
let nc: NatsConnection
let webhook: Receiver
let forwardTarget: Receiver

beforeAll(async () => {
  otlp = await startOtlpReceiver()
  webhook = await Receiver.start()
  forwardTarget = await Receiver.start()
  nats = await startNatsServer()
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: {
      ...otlp.env,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      FORWARD_ROUTES: JSON.stringify([{ subject: 'fw.traced', url: forwardTarget.url }]),
      FORWARD_TOKEN: 'forward-token-0123456789',
    },
  })
  nc = await natsClient(nats.url)
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await bridge?.stop()
  await nats?.cleanup()
  await webhook?.close()
  await forwardTarget?.close()
  await otlp?.close()
})

describe('bridge tracing over OTLP/HTTP', () => {
  it('traces a publish under the event’s own trace and a webhook attempt under the publish', async () => {
    const api = apiClient(bridge.url, bridge.tokens.admin!.token)
    const created = await api('POST', '/v1/subscriptions', {
      name: 'traced',
      subject: 'library.entity.registered',
      url: webhook.url,
    })
    expect(created.status, JSON.stringify(created.json)).toBe(201)

    const edge = { traceId: hex(16), spanId: hex(8) }
    const event = entityRegistered()
    event.metadata = { traceparent: traceparentOf(edge.traceId, edge.spanId) }
    const res = await postEvents(bridge.url, event)
    expect(res.status).toBe(202)
    const [ack] = ((await res.json()) as PublishResponse).results

    const publish = await otlp.waitForSpan(
      (s) => s.kind === SPAN_KIND.producer && s.attributes['messaging.message.id'] === event.event_id,
    )
    expect(publish).toMatchObject({
      traceId: edge.traceId,
      parentSpanId: edge.spanId,
      name: `send ${subjectFor('entity.registered')}`,
      service: 'library-bridge',
    })
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': subjectFor('entity.registered'),
      'messaging.nats.stream.sequence': ack?.seq,
      'messaging.nats.duplicate': false,
    })
    expect(publish.attributes['library.puback_latency_ms']).toBeTypeOf('number')

    // The HTTP request span started its own trace (the POST carried no traceparent); the publish links to it.
    const http = await otlp.waitForSpan(
      (s) => s.kind === SPAN_KIND.server && s.links.length === 0 && publish.links[0]?.spanId === s.spanId,
    )
    expect(http.name).toBe('POST /v1/events')
    expect(http.attributes).toMatchObject({ 'http.route': '/v1/events', 'http.response.status_code': 202 })
    expect(http.traceId).not.toBe(edge.traceId)

    const stored = (await readStream(nc)).find((m) => m.headers?.get('Nats-Msg-Id') === event.event_id)
    expect(stored?.headers?.get('traceparent')).toBe(traceparentOf(edge.traceId, publish.spanId))

    const attempt = await otlp.waitForSpan(childOf(publish))
    expect(attempt).toMatchObject({ kind: SPAN_KIND.client, name: 'POST' })
    expect(attempt.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 204,
      'library.webhook.subscription': 'traced',
      'library.webhook.attempt': 1,
      'library.webhook.outcome': 'delivered',
      'library.webhook.dead_lettered': false,
    })
    await webhook.until((r) => r.ok().some((d) => d.body.includes(event.event_id)))
    const delivery = webhook.ok().find((d) => d.body.includes(event.event_id))
    expect(delivery?.headers.traceparent).toBe(traceparentOf(edge.traceId, attempt.spanId))
  })

  it('traces a relay request as a client span under the caller’s trace; the responder sees that span', async () => {
    const seen: Array<string | undefined> = []
    const sub = nc.subscribe('svc.traced-echo', {
      callback: (_err, msg) => {
        seen.push(msg.headers?.get('traceparent'))
        msg.respond(msg.data)
      },
    })
    await nc.flush()
    const caller = { traceId: hex(16), spanId: hex(8) }
    const res = await fetch(`${bridge.url}/v1/request/svc.traced-echo`, {
      method: 'POST',
      headers: { ...jsonHeaders(), traceparent: traceparentOf(caller.traceId, caller.spanId) },
      body: JSON.stringify({ hello: 'traced' }),
    })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    sub.unsubscribe()

    const http = await otlp.waitForSpan((s) => s.kind === SPAN_KIND.server && childOf(caller)(s))
    expect(http.attributes).toMatchObject({
      'http.route': '/v1/request/:subject',
      'http.response.status_code': 200,
    })
    const relay = await otlp.waitForSpan(childOf(http))
    expect(relay).toMatchObject({ kind: SPAN_KIND.client, name: 'request svc.traced-echo' })
    expect(relay.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': 'svc.traced-echo',
      'library.relay.outcome': 'ok',
    })
    expect(seen).toEqual([traceparentOf(caller.traceId, relay.spanId)])
  })

  it('ends a relay span with no responders as an error', async () => {
    const res = await fetch(`${bridge.url}/v1/request/svc.nobody-home`, {
      method: 'POST',
      headers: jsonHeaders(),
      body: '{}',
    })
    expect(res.status).toBe(503)
    await res.arrayBuffer()
    const relay = await otlp.waitForSpan((s) => s.name === 'request svc.nobody-home')
    expect(relay.attributes).toMatchObject({
      'library.relay.outcome': 'no_responders',
      'error.type': 'no_responders',
    })
    expect(relay.status.code).toBe(2)
  })

  it('traces a forwarded request as a consumer span under its traceparent; the target sees that span', async () => {
    const caller = { traceId: hex(16), spanId: hex(8) }
    const h = headers()
    h.set('traceparent', traceparentOf(caller.traceId, caller.spanId))
    await nc.request('fw.traced', JSON.stringify({ hello: 'forward' }), { timeout: 5_000, headers: h })

    const forward = await otlp.waitForSpan(childOf(caller))
    expect(forward).toMatchObject({ kind: SPAN_KIND.consumer, name: 'process fw.traced' })
    expect(forward.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'fw.traced',
      'http.response.status_code': 204,
    })
    const call = forwardTarget.deliveries.find((d) => d.body.includes('forward'))
    expect(call?.headers.traceparent).toBe(traceparentOf(caller.traceId, forward.spanId))
  })

  it('traces each batch written to an SSE connection with its message count', async () => {
    const url = `${bridge.url}/v1/subscribe?${new URLSearchParams({ subject: 'library.health.degraded' })}`
    const client = await SseTestClient.open(url, bearer())
    try {
      expect(client.status).toBe(200)
      const res = await postEvents(bridge.url, {
        events: [healthDegraded(), healthDegraded(), healthDegraded()],
      })
      expect(res.status).toBe(202)
      await client.waitForEvents(3)
      const sent = () =>
        otlp
          .spans()
          .filter((s) => s.name === 'sse send')
          .reduce((sum, s) => sum + Number(s.attributes['messaging.batch.message_count']), 0)
      await expect.poll(sent, { timeout: 10_000 }).toBe(3)
      const batches = otlp.spans().filter((s) => s.name === 'sse send')
      expect(batches[0]?.attributes['library.sse.source']).toBe('jetstream')
      // each batch starts its own trace, linked to the subscribe request and to what it carried
      const subscribe = otlp.spans().find((s) => s.name === 'GET /v1/subscribe')
      const publishes = otlp.spans().filter((s) => s.name === 'send library.health.degraded')
      expect(subscribe).toBeDefined()
      expect(publishes.length).toBeGreaterThanOrEqual(3)
      const linked = batches.flatMap((b) => b.links.map((l) => l.spanId))
      for (const batch of batches) expect(batch.links.map((l) => l.spanId)).toContain(subscribe?.spanId)
      for (const publish of publishes.slice(-3)) expect(linked).toContain(publish.spanId)
    } finally {
      client.close()
    }
  })
})
