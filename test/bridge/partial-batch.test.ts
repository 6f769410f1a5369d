import { DiscardPolicy, type JetStreamManager } from 'nats'
import { beforeAll, describe, expect, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import {
  entityRegistered,
  healthDegraded,
  type PublishResponse,
  postEvents,
  readStream,
} from './support/bridge-client'
import { bridgeOnNats } from './support/bridge-on-nats'

let jsm: JetStreamManager
const setup = bridgeOnNats({ env: { LOG_LEVEL: 'warn' } })

beforeAll(async () => {
  jsm = await setup.nc.jetstreamManager()
})

/** Limits the bridge leaves alone (it only reconciles subjects, replicas, age, dedupe window, bytes). */
const limitEachSubjectToOne = async (on: boolean) => {
  const { config } = await jsm.streams.info(STREAM_NAME)
  await jsm.streams.update(STREAM_NAME, {
    ...config,
    max_msgs_per_subject: on ? 1 : -1,
    discard: on ? DiscardPolicy.New : DiscardPolicy.Old,
    discard_new_per_subject: on,
  })
}

interface PartialFailure {
  error: {
    code: string
    message: string
    details: { results: Array<Record<string, unknown>> }
  }
}

describe('a batch JetStream acks only in part', () => {
  it('answers 503 with a result per event, stores the acked ones, and a retry stores the rest once', async () => {
    await limitEachSubjectToOne(true)
    const filler = healthDegraded()
    expect((await postEvents(setup.bridge.url, filler)).status).toBe(202)

    // The stream refuses the second health.degraded event; the entity.registered one is stored.
    const accepted = entityRegistered()
    const refused = healthDegraded()
    const res = await postEvents(setup.bridge.url, { events: [accepted, refused] })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    const body = (await res.json()) as PartialFailure
    // a stream refusing for lack of room says so, apart from NATS being unreachable
    expect(body.error.code).toBe('stream_full')
    expect(body.error.message).toContain('1 of 2 events')
    const [ok, failed] = body.error.details.results
    expect(ok).toEqual({ event_id: accepted.event_id, stream: STREAM_NAME, seq: 2, duplicate: false })
    expect(failed).toEqual({
      event_id: refused.event_id,
      error: { code: 'stream_full', message: expect.stringMatching(/maximum messages per subject/i) },
    })
    const storedIds = async () => (await readStream(setup.nc)).map((m) => m.headers?.get('Nats-Msg-Id'))
    expect(await storedIds()).toEqual([filler.event_id, accepted.event_id])

    // Retried as told, with the same event ids: the acked one is a duplicate, the other is stored.
    await limitEachSubjectToOne(false)
    const retry = await postEvents(setup.bridge.url, { events: [accepted, refused] })
    expect(retry.status).toBe(202)
    const retried = (await retry.json()) as PublishResponse
    expect(retried.results).toEqual([
      { event_id: accepted.event_id, stream: STREAM_NAME, seq: 2, duplicate: true },
      { event_id: refused.event_id, stream: STREAM_NAME, seq: 3, duplicate: false },
    ])
    expect(await storedIds()).toEqual([filler.event_id, accepted.event_id, refused.event_id])
  })
})
