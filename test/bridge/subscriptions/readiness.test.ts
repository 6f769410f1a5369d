import { connect, type JetStreamManager, type NatsConnection, StorageType } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REGISTRY_BUCKET } from '../../../bridge/subscriptions/store'
import { type InProcessBridge, startInProcessBridge } from '../../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { Receiver } from '../support/receiver'
import { apiClient, eventually } from '../support/subscriptions'

/** Holds the registry bucket's subjects, so the bridge cannot create the bucket until it is gone. */
const BLOCKER = 'REGISTRY_BLOCKER'

let server: NatsServerHandle
let nc: NatsConnection
let jsm: JetStreamManager
let bridge: InProcessBridge | undefined
let receiver: Receiver | undefined

beforeAll(async () => {
  server = await startNatsServer()
  nc = await connect({ servers: server.url })
  jsm = await nc.jetstreamManager()
  await jsm.streams.add({
    name: BLOCKER,
    subjects: [`$KV.${REGISTRY_BUCKET}.>`],
    storage: StorageType.Memory,
  })
}, 60_000)

afterAll(async () => {
  await receiver?.close()
  await bridge?.stop()
  await nc?.close()
  await server?.cleanup()
})

describe('readiness and the subscription registry', () => {
  it('stays not ready while the registry cannot be bound, and a subscription can be created as soon as it is ready', async () => {
    bridge = await startInProcessBridge(server.url, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })
    const api = apiClient(bridge.url, bridge.token)

    const blocked = await api('GET', '/ready')
    expect(blocked.status).toBe(503)
    expect(blocked.json.error.details).toMatchObject({
      reason: 'registry_not_ready',
      stream_ready: true,
      registry_ready: false,
    })
    const detailed = await eventually(async () => {
      const { json } = await api('GET', '/health/detailed')
      return json.registry.last_error ? json : undefined
    })
    expect(detailed).toMatchObject({ status: 'not_ready', reason: 'registry_not_ready' })
    expect(detailed.registry.ready).toBe(false)
    const refused = await api('GET', '/v1/subscriptions')
    expect(refused.status).toBe(503)

    await jsm.streams.delete(BLOCKER)
    await eventually(async () => (await api('GET', '/ready')).status === 200)

    receiver = await Receiver.start()
    const created = await api('POST', '/v1/subscriptions', {
      name: 'right-after-ready',
      subject: 'library.entity.*',
      url: receiver.url,
    })
    expect(created.status, JSON.stringify(created.json)).toBe(201)
    const detailedReady = await api('GET', '/health/detailed')
    expect(detailedReady.json.registry).toEqual({ ready: true, last_error: null })
  })
})
