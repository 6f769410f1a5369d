import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, entityRegistered, postEvents } from '../bridge/support/bridge-client'
import { Receiver } from '../bridge/support/receiver'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsCluster, startNatsCluster } from '../support/nats-server'
import { sleep, waitFor } from './support/load'
import { report, SOAK, tally } from './support/report'

const EVENTS = 3_000
const PRODUCERS = 2

let cluster: NatsCluster
let bridge: BridgeProcess
let receiver: Receiver

beforeAll(async () => {
  // a 3-node cluster costs its start-up: the scenario runs in the long form only
  if (!SOAK) return
  cluster = await startNatsCluster(3)
  bridge = await startBridgeProcess({
    natsUrl: cluster.urls,
    waitFor: 'ready',
    env: {
      STREAM_REPLICAS: '3',
      BRIDGE_PUBLISH_TIMEOUT_MS: '3000',
      SSE_HEARTBEAT_MS: '1000',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_ACK_WAIT_MS: '4000',
      WEBHOOK_BACKOFF_INITIAL_MS: '100',
      WEBHOOK_BACKOFF_MAX_MS: '1000',
    },
  })
  receiver = await Receiver.start()
}, 120_000)

afterAll(async () => {
  await receiver?.close()
  await bridge?.stop()
  await cluster?.cleanup()
})

const connectedServer = async (): Promise<string | null> => {
  const body = (await (await fetch(`${bridge.url}/health/detailed`)).json()) as {
    nats: { state: string; server: string | null }
  }
  return body.nats.state === 'connected' ? body.nats.server : null
}

/** An SSE reader that reconnects with Last-Event-ID whenever its stream ends or fails. */
const sseReader = (subject: string) => {
  const ids: string[] = []
  let lastId: string | undefined
  let reconnects = 0
  let stopped = false
  let controller = new AbortController()
  const run = async () => {
    while (!stopped) {
      controller = new AbortController()
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }
        if (lastId) headers['last-event-id'] = lastId
        const query = lastId ? '' : '&from=start'
        const res = await fetch(`${bridge.url}/v1/subscribe?subject=${encodeURIComponent(subject)}${query}`, {
          headers,
          signal: controller.signal,
        })
        if (res.status !== 200 || !res.body) {
          await res.arrayBuffer().catch(() => undefined)
          await sleep(250)
          continue
        }
        const decoder = new TextDecoder()
        let buffer = ''
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true })
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const id = /^id: (.*)$/m.exec(frame)?.[1]
            const data = frame
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n')
            if (id && data) {
              lastId = id
              ids.push((JSON.parse(data) as { event_id: string }).event_id)
            }
          }
        }
      } catch {
        // aborted or cut: resume from the last id seen
      }
      if (!stopped) {
        reconnects++
        await sleep(250)
      }
    }
  }
  const running = run()
  return {
    ids,
    reconnects: () => reconnects,
    /** Drops the current connection, as a client's network would. */
    cut: () => controller.abort(),
    stop: async () => {
      stopped = true
      controller.abort()
      await running
    },
  }
}

describe('a NATS node killed while webhook push and SSE run on an R3 stream (npm run test:soak)', () => {
  it.skipIf(!SOAK)(
    'every event is delivered or dead-lettered, none lost; SSE resumes with Last-Event-ID without a gap',
    async () => {
      await waitFor(async () => {
        const res = await fetch(`${bridge.url}/v1/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'push',
            subject: 'library.entity.*',
            url: receiver.url,
            max_deliver: 100,
          }),
        })
        const text = await res.text()
        if (res.status === 503) return undefined
        expect(res.status, text).toBe(201)
        return true
      }, 'the push subscription')
      const sse = sseReader('library.entity.*')

      const acked: string[] = []
      let sent = 0
      let refused = 0
      let next = 0
      let killedAt = 0
      let restartedAt = 0
      let killedServer: string | null = null
      const producer = async () => {
        while (next < EVENTS) {
          next++
          const event = entityRegistered()
          sent++
          for (;;) {
            const res = await postEvents(bridge.url, event).catch(() => undefined)
            await res?.arrayBuffer()
            if (res?.status === 202) break
            refused++
            await sleep(100)
          }
          acked.push(event.event_id)
        }
      }
      const fault = async () => {
        await waitFor(async () => (acked.length >= EVENTS / 3 ? true : undefined), 'a third of the events')
        killedServer = await connectedServer()
        const node =
          cluster.servers.find((s) => killedServer?.includes(String(s.port))) ?? cluster.servers[0]!
        killedAt = Date.now()
        await node.kill()
        // the SSE client loses its connection too, and comes back with Last-Event-ID
        sse.cut()
        await sleep(2_000)
        await node.restart()
        restartedAt = Date.now()
      }
      await Promise.all([...Array.from({ length: PRODUCERS }, producer), fault()])

      const delivered = await waitFor(
        async () => {
          const got = new Set(receiver.deliveries.map((d) => d.id))
          return acked.every((id) => got.has(id)) ? Date.now() : undefined
        },
        'the receiver to have every acked event',
        120_000,
        250,
      )
      await waitFor(
        async () => (acked.every((id) => sse.ids.includes(id)) ? true : undefined),
        'the SSE reader to have every acked event',
        60_000,
        250,
      )
      await sse.stop()
      const push = tally(
        acked,
        receiver.deliveries.map((d) => d.id),
      )
      const stream = tally(acked, sse.ids)
      report({
        scenario: '16 nats node killed under webhook push and SSE (R3)',
        sent,
        acked: acked.length,
        received: push.received,
        lost: push.lost,
        duplicated: push.duplicated,
        recovery_ms: delivered - restartedAt,
        notes: {
          killed: killedServer ?? 'unknown',
          publish_retries: refused,
          sse_received: stream.received,
          sse_lost: stream.lost,
          sse_duplicated: stream.duplicated,
          sse_reconnects: sse.reconnects(),
          outage_ms: restartedAt - killedAt,
        },
      })
      expect(push.missing).toEqual([])
      expect(stream.missing).toEqual([])
      // a resumed SSE stream starts after the last id it saw: no event twice
      expect(stream.duplicated).toBe(0)
    },
    SOAK ? 600_000 : 180_000,
  )
})
