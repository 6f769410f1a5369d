import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { metricValue, NARROW_TOKEN, startInProcessBridge } from '../../support/in-process-bridge'
import { inProcessBridgeOnNats } from '../support/bridge-on-nats'
import { SseTestClient } from '../support/sse-client'

const BUFFER_BYTES = 256 * 1024

const setup = inProcessBridgeOnNats({
  SSE_HEARTBEAT_MS: '200',
  SSE_RETRY_MS: '1500',
  SSE_CLIENT_BUFFER_BYTES: String(BUFFER_BYTES),
  SSE_CUT_GRACE_MS: '30000',
})

const event = (type: string, n: number, padding = '') => ({
  event_id: randomUUID(),
  event_type: type,
  timestamp: new Date().toISOString(),
  source: 'test',
  data: { n, padding },
  metadata: {},
})

/** Publishes `count` events of `type` and returns their stream sequences. */
const publish = async (type: string, from: number, count: number, padding = ''): Promise<number[]> => {
  const seqs: number[] = []
  for (let i = 0; i < count; i++) {
    const e = event(type, from + i, padding)
    const ack = await setup.js.publish(`library.${type}`, JSON.stringify(e), { msgID: e.event_id })
    seqs.push(ack.seq)
  }
  return seqs
}

const subscribeUrl = (subject: string, query: Record<string, string> = {}) =>
  `${setup.bridge.url}/v1/subscribe?${new URLSearchParams({ subject, ...query })}`

const auth = (token = setup.bridge.token) => ({ authorization: `Bearer ${token}` })

const numbers = (client: SseTestClient) =>
  client.events
    .filter((e) => e.event !== 'error')
    .map((e) => (JSON.parse(e.data) as { data: { n: number } }).data.n)

describe('GET /v1/subscribe from the event stream', () => {
  it('delivers events in order with the stream sequence as id and the event type as event name', async () => {
    const client = await SseTestClient.open(subscribeUrl('library.entity.registered'), auth())
    try {
      expect(client.status).toBe(200)
      const seqs = await publish('entity.registered', 0, 5)
      await client.waitForEvents(5)
      expect(client.events.map((e) => e.id)).toEqual(seqs.map(String))
      expect(client.events.every((e) => e.event === 'entity.registered')).toBe(true)
      expect(numbers(client)).toEqual([0, 1, 2, 3, 4])
      expect(client.retry).toBe(1500)
      await client.until((c) => c.heartbeats >= 2, 'two heartbeats')
    } finally {
      client.close()
    }
  })

  it('resumes after Last-Event-ID with exactly the missed events', async () => {
    const first = await SseTestClient.open(subscribeUrl('library.entity.updated'), auth())
    await publish('entity.updated', 0, 10)
    await first.waitForEvents(4)
    first.close()
    const seen = first.events.slice(0, 4)
    await publish('entity.updated', 10, 6)

    const lastId = seen.at(-1)?.id ?? ''
    const second = await SseTestClient.open(subscribeUrl('library.entity.updated'), {
      ...auth(),
      'last-event-id': lastId,
    })
    try {
      await second.waitForEvents(12)
      const combined = [
        ...seen.map((e) => (JSON.parse(e.data) as { data: { n: number } }).data.n),
        ...numbers(second),
      ]
      expect(combined).toEqual(Array.from({ length: 16 }, (_, i) => i))
      expect(Number(second.events[0]?.id)).toBe(Number(lastId) + 1)
      await publish('entity.updated', 16, 1)
      await second.waitForEvents(13)
      expect(numbers(second).at(-1)).toBe(16)
    } finally {
      second.close()
    }
  })

  it('replays history with from=start, a sequence or a timestamp, and Last-Event-ID wins over from', async () => {
    const seqs = await publish('entity.deleted', 0, 3)
    // The cutoff goes out with millisecond precision: keep it clear of both batches.
    await new Promise((r) => setTimeout(r, 20))
    const cutoff = new Date()
    await new Promise((r) => setTimeout(r, 20))
    await publish('entity.deleted', 3, 2)

    const all = await SseTestClient.open(subscribeUrl('library.entity.deleted', { from: 'start' }), auth())
    const afterSeq = await SseTestClient.open(
      subscribeUrl('library.entity.deleted', { from: String(seqs[0]) }),
      auth(),
    )
    const sinceTime = await SseTestClient.open(
      subscribeUrl('library.entity.deleted', { from: cutoff.toISOString() }),
      auth(),
    )
    const resumed = await SseTestClient.open(subscribeUrl('library.entity.deleted', { from: 'start' }), {
      ...auth(),
      'last-event-id': String(seqs[2]),
    })
    try {
      await all.waitForEvents(5)
      await afterSeq.waitForEvents(4)
      await sinceTime.waitForEvents(2)
      await resumed.waitForEvents(2)
      expect(numbers(all)).toEqual([0, 1, 2, 3, 4])
      expect(numbers(afterSeq)).toEqual([1, 2, 3, 4])
      expect(numbers(sinceTime)).toEqual([3, 4])
      expect(numbers(resumed)).toEqual([3, 4])
    } finally {
      for (const c of [all, afterSeq, sinceTime, resumed]) c.close()
    }
  })

  it('filters by wildcard pattern across event types', async () => {
    const client = await SseTestClient.open(subscribeUrl('library.deployment.*'), auth())
    try {
      await publish('deployment.started', 0, 1)
      await publish('entity.validated', 1, 1)
      await publish('deployment.completed', 2, 1)
      await client.waitForEvents(2)
      expect(client.events.map((e) => e.event)).toEqual(['deployment.started', 'deployment.completed'])
    } finally {
      client.close()
    }
  })

  it('cuts a client that does not read with a final error event, and other clients get everything', async () => {
    const slow = await SseTestClient.open(subscribeUrl('library.health.degraded'), auth())
    slow.pause()
    const fast = await SseTestClient.open(subscribeUrl('library.health.degraded'), auth())
    const cutBefore = metricValue(await setup.bridge.metrics(), 'bridge_sse_clients_cut_total', {
      reason: 'slow_consumer',
    })
    const count = 150
    const padding = 'x'.repeat(64 * 1024)
    try {
      await publish('health.degraded', 0, count, padding)
      await fast.waitForEvents(count)
      expect(numbers(fast)).toEqual(Array.from({ length: count }, (_, i) => i))

      for (;;) {
        const cut = metricValue(await setup.bridge.metrics(), 'bridge_sse_clients_cut_total', {
          reason: 'slow_consumer',
        })
        if (cut > cutBefore) break
        await new Promise((r) => setTimeout(r, 100))
      }
      slow.resume()
      await slow.waitForEnd()
      const last = slow.events.at(-1)
      expect(last?.event).toBe('error')
      expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ code: 'slow_consumer' })
      const received = numbers(slow)
      expect(received.length).toBeLessThan(count)
      expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i))
      expect(fast.ended).toBe(false)
    } finally {
      slow.close()
      fast.close()
    }
  })
})

describe('GET /v1/subscribe outside the event stream', () => {
  it('relays a core subscription live, sharing work within a queue group', async () => {
    const plain = await SseTestClient.open(subscribeUrl('ops.alerts.>'), auth())
    const q1 = await SseTestClient.open(subscribeUrl('ops.alerts.>', { queue: 'workers' }), auth())
    const q2 = await SseTestClient.open(subscribeUrl('ops.alerts.>', { queue: 'workers' }), auth())
    try {
      for (let i = 0; i < 20; i++) setup.nc.publish(`ops.alerts.disk${i % 2}`, JSON.stringify({ n: i }))
      await setup.nc.flush()
      await plain.waitForEvents(20)
      expect(plain.events.map((e) => (JSON.parse(e.data) as { n: number }).n)).toEqual(
        Array.from({ length: 20 }, (_, i) => i),
      )
      expect(plain.events[0]?.event).toBe('ops.alerts.disk0')
      expect(plain.events[0]?.id).toBeUndefined()
      await q1.until(() => q1.events.length + q2.events.length >= 20, 'queue group to receive all')
      expect(q1.events.length + q2.events.length).toBe(20)
    } finally {
      for (const c of [plain, q1, q2]) c.close()
    }
  })
})

describe('GET /v1/subscribe refusals', () => {
  it('needs a token, the subscribe scope and a valid pattern', async () => {
    const noToken = await fetch(subscribeUrl('library.entity.registered'))
    expect(noToken.status).toBe(401)

    const outOfScope = await fetch(subscribeUrl('library.>'), { headers: auth(NARROW_TOKEN) })
    expect(outOfScope.status).toBe(403)
    expect(((await outOfScope.json()) as { error: { code: string } }).error.code).toBe('forbidden')

    const invalid = await fetch(subscribeUrl('library..x'), { headers: auth() })
    expect(invalid.status).toBe(400)
    const missing = await fetch(`${setup.bridge.url}/v1/subscribe`, { headers: auth() })
    expect(missing.status).toBe(400)
    const badFrom = await fetch(subscribeUrl('library.entity.*', { from: 'yesterday' }), { headers: auth() })
    expect(badFrom.status).toBe(400)
    const badId = await fetch(subscribeUrl('library.entity.*'), {
      headers: { ...auth(), 'last-event-id': 'abc' },
    })
    expect(badId.status).toBe(400)
    const queueOnStream = await fetch(subscribeUrl('library.entity.*', { queue: 'q' }), { headers: auth() })
    expect(queueOnStream.status).toBe(400)

    const allowed = await SseTestClient.open(subscribeUrl('library.entity.registered'), auth(NARROW_TOKEN))
    expect(allowed.status).toBe(200)
    allowed.close()
  })

  it('answers 503 once the stream cap is reached', async () => {
    const capped = await startInProcessBridge(setup.nats.url, { SSE_MAX_CLIENTS: '2' })
    const url = `${capped.url}/v1/subscribe?subject=library.swap.completed`
    const a = await SseTestClient.open(url, auth())
    const b = await SseTestClient.open(url, auth())
    try {
      const c = await SseTestClient.open(url, auth())
      expect([a.status, b.status, c.status]).toEqual([200, 200, 503])
      expect(c.errorBody).toMatchObject({ error: { code: 'too_many_streams' } })
      a.close()
      for (;;) {
        const d = await SseTestClient.open(url, auth())
        if (d.status === 200) {
          d.close()
          break
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      a.close()
      b.close()
      await capped.stop()
    }
  })
})
