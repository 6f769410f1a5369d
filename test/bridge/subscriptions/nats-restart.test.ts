import { connect, type JetStreamClient, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessBridge, startInProcessBridge } from '../../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { Receiver } from '../support/receiver'
import { SseTestClient } from '../support/sse-client'
import { apiClient, eventually, publishEvents } from '../support/subscriptions'

let server: NatsServerHandle
let bridge: InProcessBridge
let receiver: Receiver
let nc: NatsConnection
let js: JetStreamClient

beforeAll(async () => {
  server = await startNatsServer()
  bridge = await startInProcessBridge(
    server.url,
    {
      STREAM_STORAGE: 'file',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_INITIAL_MIN_MS: '10',
      NATS_RECONNECT_INITIAL_MS: '100',
      NATS_RECONNECT_MAX_MS: '500',
    },
    { waitFor: 'ready' },
  )
  receiver = await Receiver.start()
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  js = nc.jetstream()
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await receiver?.close()
  await bridge?.stop()
  await server?.cleanup()
})

describe('subscriptions across a NATS server restart', () => {
  it('keeps the webhook subscription and the SSE stream going without loss', async () => {
    const api = apiClient(bridge.url, bridge.token)
    const created = await api('POST', '/v1/subscriptions', {
      name: 'durable',
      subject: 'library.entity.*',
      url: receiver.url,
      backoff: { initial_ms: 100, max_ms: 1_000 },
    })
    expect(created.status).toBe(201)
    receiver.secret = created.json.secret
    const sse = await SseTestClient.open(`${bridge.url}/v1/subscribe?subject=library.entity.*`, {
      authorization: `Bearer ${bridge.token}`,
    })

    const before = await publishEvents(js, 'entity.validated', 5)
    await receiver.until((r) => r.ok().length >= 5)
    await sse.waitForEvents(5)

    await server.restart()
    await eventually(
      async () => bridge.nats.isConnected() && (await fetch(`${bridge.url}/ready`)).status === 200,
    )
    const after = await eventually(async () => {
      try {
        return await publishEvents(js, 'entity.validated', 5, 5)
      } catch {
        return undefined
      }
    })

    await receiver.until((r) => new Set(r.ok().map((d) => d.id)).size >= 10)
    expect(new Set(receiver.ok().map((d) => d.id))).toEqual(
      new Set([...before, ...after].map((e) => e.event_id)),
    )
    expect(receiver.deliveries.every((d) => d.verified)).toBe(true)

    await sse.waitForEvents(10)
    const ids = sse.events.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(ids.length)
    expect(sse.events.map((e) => (JSON.parse(e.data) as { data: { n: number } }).data.n)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
    sse.close()
  }, 90_000)
})
