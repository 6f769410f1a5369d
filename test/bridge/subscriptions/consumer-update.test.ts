import { AckPolicy, connect, type JetStreamManager, type NatsConnection, nanos, StorageType } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../bridge/config'
import type { SubscriptionRecord } from '../../../bridge/subscriptions/schema'
import {
  DEAD_LETTER_STREAM,
  ensureConsumer,
  ensureConsumers,
  ensureStore,
  eventsConsumerName,
  REPLAY_STREAM,
  replayConsumerName,
} from '../../../bridge/subscriptions/store'
import { STREAM_NAME } from '../../../shared/subjects'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { publishEvents } from '../support/subscriptions'

let server: NatsServerHandle
let nc: NatsConnection
let jsm: JetStreamManager

beforeAll(async () => {
  server = await startNatsServer()
  nc = await connect({ servers: server.url })
  jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: STREAM_NAME, subjects: ['library.>'], storage: StorageType.Memory })
  await ensureStore(nc.jetstream(), jsm, loadConfig({ NATS_URL: server.url, STREAM_STORAGE: 'memory' }))
}, 30_000)

afterAll(async () => {
  await nc?.close()
  await server?.cleanup()
})

const record = (overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  name: 'tuned',
  subject: 'library.entity.registered',
  url: 'http://127.0.0.1:9/hook',
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  max_deliver: 5,
  backoff: { initial_ms: 100, max_ms: 1_000, factor: 2, jitter: 0.2 },
  max_in_flight: 10,
  ordered: false,
  state: 'active',
  state_reason: null,
  created_at: new Date(Date.now() - 60_000).toISOString(),
  updated_at: new Date().toISOString(),
  created_by: 'tester',
  ...overrides,
})

describe('ensureConsumers', () => {
  it('brings an existing consumer in line with a changed record and ack wait, keeping its position', async () => {
    const before = record()
    expect(await ensureConsumers(jsm, before, 5_000)).toEqual([])
    await publishEvents(nc.jetstream(), 'entity.registered', 3)
    const consumer = await nc.jetstream().consumers.get(STREAM_NAME, eventsConsumerName(before.name))
    for (let i = 0; i < 2; i++) await (await consumer.next({ expires: 5_000 }))?.ackAck()
    const created = (await jsm.consumers.info(STREAM_NAME, eventsConsumerName(before.name))).created

    const after = record({ ordered: true, subject: 'library.entity.*' })
    const refused = await ensureConsumers(jsm, after, 9_000)

    // The dead-letter replay consumer starts from the beginning: every server updates it.
    const replay = await jsm.consumers.info(REPLAY_STREAM, replayConsumerName(before.name))
    expect(replay.config).toMatchObject({ ack_wait: nanos(9_000), max_ack_pending: 1 })

    // The events consumer starts at a time, and some servers (2.9) refuse any update of such a
    // consumer; then the refusal is reported and the consumer keeps its settings and position.
    const events = await jsm.consumers.info(STREAM_NAME, eventsConsumerName(before.name))
    expect(events.created).toBe(created)
    expect(events.ack_floor.stream_seq).toBe(2)
    if (refused.length === 0) {
      expect(events.config).toMatchObject({
        filter_subject: 'library.entity.*',
        ack_wait: nanos(9_000),
        max_ack_pending: 1,
      })
    } else {
      expect(refused).toEqual(['start time can not be updated'])
      expect(events.config).toMatchObject({
        filter_subject: 'library.entity.registered',
        ack_wait: nanos(5_000),
        max_ack_pending: 10,
      })
    }

    // Asking again gives the same answer.
    expect(await ensureConsumers(jsm, after, 9_000)).toEqual(refused)
  })

  it('reports, rather than throws, a change the server refuses, and leaves the consumer working', async () => {
    const durable = 'refused_change'
    await jsm.consumers.add(STREAM_NAME, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'library.entity.deleted',
      backoff: [nanos(1_000), nanos(2_000)],
      max_deliver: 5,
    })
    // A backoff list longer than max_deliver is invalid, so the server refuses the update.
    const refused = await ensureConsumer(jsm, STREAM_NAME, { durable_name: durable, max_deliver: 1 })
    expect(refused).toEqual(expect.any(String))
    expect((await jsm.consumers.info(STREAM_NAME, durable)).config.max_deliver).toBe(5)
  })

  it('applies a changed dead-letter retention to the existing stream', async () => {
    const retention = (days: string) =>
      loadConfig({ NATS_URL: server.url, STREAM_STORAGE: 'memory', WEBHOOK_DEAD_LETTER_MAX_AGE: days })
    await ensureStore(nc.jetstream(), jsm, retention('3d'))
    expect((await jsm.streams.info(DEAD_LETTER_STREAM)).config.max_age).toBe(nanos(3 * 86_400_000))
    await ensureStore(nc.jetstream(), jsm, retention('5d'))
    expect((await jsm.streams.info(DEAD_LETTER_STREAM)).config.max_age).toBe(nanos(5 * 86_400_000))
  })
})
