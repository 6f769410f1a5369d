import { connect, type JetStreamClient, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BRIDGE_TEST_TOKENS, type BridgeProcess, startBridgeProcess } from '../../support/bridge-process'
import { metricValue } from '../../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { Receiver } from '../support/receiver'
import { apiClient, eventually, publishEvents, sleep } from '../support/subscriptions'

const MAX_IN_FLIGHT = 16

let server: NatsServerHandle
let bridges: BridgeProcess[] = []
let receiver: Receiver
let nc: NatsConnection
let js: JetStreamClient

const env = {
  LOG_LEVEL: 'warn',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_ACK_WAIT_MS: '4000',
  WEBHOOK_BACKOFF_INITIAL_MIN_MS: '10',
}

const metricsOf = async (bridge: BridgeProcess) => (await fetch(`${bridge.url}/metrics`)).text()

const deliveredBy = async (bridge: BridgeProcess) =>
  metricValue(await metricsOf(bridge), 'bridge_webhook_deliveries_total', {
    subscription: 'shared',
    outcome: 'delivered',
  })

beforeAll(async () => {
  server = await startNatsServer()
  bridges = await Promise.all([
    startBridgeProcess({ natsUrl: server.url, env, waitFor: 'ready' }),
    startBridgeProcess({ natsUrl: server.url, env, waitFor: 'ready' }),
  ])
  receiver = await Receiver.start()
  nc = await connect({ servers: server.url })
  js = nc.jetstream()
}, 90_000)

afterAll(async () => {
  await nc?.close()
  await receiver?.close()
  await Promise.all(bridges.map((b) => b.stop()))
  await server?.cleanup()
})

const uniqueIds = () => new Set(receiver.ok().map((d) => d.id))

describe('webhook delivery shared by two bridge processes', () => {
  it('delivers 1,000 events exactly once between them, and the survivor finishes when one is killed', async () => {
    const [a, b] = bridges as [BridgeProcess, BridgeProcess]
    const api = apiClient(a.url, BRIDGE_TEST_TOKENS.admin.token)
    const created = await api('POST', '/v1/subscriptions', {
      name: 'shared',
      subject: 'library.entity.registered',
      url: receiver.url,
      max_in_flight: MAX_IN_FLIGHT,
      max_deliver: 20,
      backoff: { initial_ms: 100, max_ms: 1_000 },
    })
    expect(created.status).toBe(201)
    receiver.secret = created.json.secret
    for (const bridge of bridges) {
      await eventually(
        async () => metricValue(await metricsOf(bridge), 'bridge_webhook_active_subscriptions') === 1,
      )
    }

    // Steady state: both replicas pull from the one durable consumer.
    const first = await publishEvents(js, 'entity.registered', 1_000)
    await receiver.until(() => uniqueIds().size >= 1_000)
    await sleep(500)
    expect(receiver.deliveries).toHaveLength(1_000)
    expect(receiver.deliveries.every((d) => d.verified && d.status === 204)).toBe(true)
    expect(uniqueIds()).toEqual(new Set(first.map((e) => e.event_id)))
    const [byA, byB] = [await deliveredBy(a), await deliveredBy(b)]
    expect(byA).toBeGreaterThan(0)
    expect(byB).toBeGreaterThan(0)
    expect(byA + byB).toBe(1_000)

    // Kill one replica in the middle of the next thousand.
    const before = receiver.deliveries.length
    const second = await publishEvents(js, 'entity.registered', 1_000, 1_000)
    await receiver.until(() => receiver.deliveries.length - before >= 300)
    await b.kill()
    await receiver.until(() => uniqueIds().size >= 2_000)
    const secondIds = new Set<string>(second.map((e) => e.event_id))
    const received = receiver.deliveries.slice(before).filter((d) => secondIds.has(d.id))
    const duplicates = received.length - new Set(received.map((d) => d.id)).size
    expect(new Set(received.map((d) => d.id))).toEqual(secondIds)
    // Only deliveries in flight on the killed bridge (at most max_in_flight) may arrive twice.
    expect(duplicates).toBeLessThanOrEqual(MAX_IN_FLIGHT)
    console.info(`two-bridge kill: ${duplicates} duplicate deliveries of in-flight events`)
  }, 120_000)
})
