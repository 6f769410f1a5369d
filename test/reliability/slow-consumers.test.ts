import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, healthDegraded, postEvents } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { metricValue } from '../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { sleep, waitFor } from './support/load'
import { report, scaled } from './support/report'

const CLIENTS = 100
const STALLED = 10
const MESSAGES = scaled(2_500, 5_000)
const PAYLOAD_BYTES = 8_192
const CLIENT_BUFFER_BYTES = 1_048_576
/** Messages a reader may lag behind the publisher: half its buffer. */
const READER_WINDOW = Math.floor(CLIENT_BUFFER_BYTES / 2 / PAYLOAD_BYTES)
const SUBJECT = 'load.sse'
const MiB = 1024 * 1024

let nats: NatsServerHandle
let bridge: BridgeProcess
let nc: NatsConnection
const sockets: Socket[] = []
const servers: Server[] = []

beforeAll(async () => {
  nats = await startNatsServer()
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: {
      STREAM_STORAGE: 'memory',
      SSE_CLIENT_BUFFER_BYTES: String(CLIENT_BUFFER_BYTES),
      SSE_CUT_GRACE_MS: '3000',
      SSE_HEARTBEAT_MS: '1000',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_ACK_WAIT_MS: '1500',
      WEBHOOK_BACKOFF_INITIAL_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '100',
    },
  })
  nc = await connect({ servers: nats.url })
}, 60_000)

afterAll(async () => {
  for (const s of sockets) s.destroy()
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await nc?.close()
  await bridge?.stop()
  await nats?.cleanup()
})

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024

const metrics = async () => (await fetch(`${bridge.url}/metrics`)).text()

/** An SSE client that reads everything and counts the messages it gets. */
const reader = async (signal: AbortSignal) => {
  const res = await fetch(`${bridge.url}/v1/subscribe?subject=${SUBJECT}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal,
  })
  expect(res.status).toBe(200)
  const state = { received: 0, lastAt: 0, done: undefined as Promise<void> | undefined }
  const decoder = new TextDecoder()
  let pending = ''
  state.done = (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true })
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) {
          if (line.startsWith('data: {"n":')) {
            state.received++
            state.lastAt = Date.now()
          }
        }
      }
    } catch {
      // aborted at the end of the test
    }
  })()
  return state
}

/** An SSE client that sends its request and then never reads a byte. */
const stalled = () =>
  new Promise<Socket>((resolve, reject) => {
    const socket = tcpConnect(bridge.port, '127.0.0.1', () => {
      socket.write(
        `GET /v1/subscribe?subject=${SUBJECT} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: Bearer ${ADMIN_TOKEN}\r\nAccept: text/event-stream\r\n\r\n`,
      )
      socket.pause()
      resolve(socket)
    })
    socket.on('error', () => {})
    socket.once('error', reject)
    sockets.push(socket)
  })

describe('slow consumers', () => {
  it(`${CLIENTS} SSE clients of which ${STALLED} never read: memory bounded, the others get everything`, async () => {
    const controller = new AbortController()
    const readers = await Promise.all(
      Array.from({ length: CLIENTS - STALLED }, () => reader(controller.signal)),
    )
    for (let i = 0; i < STALLED; i++) await stalled()
    await waitFor(
      async () => (metricValue(await metrics(), 'bridge_sse_streams_open') >= CLIENTS ? true : undefined),
      `${CLIENTS} open streams`,
    )
    const pid = bridge.pid!
    const rssBefore = rssBytes(pid)
    let rssMax = rssBefore

    const pad = 'x'.repeat(PAYLOAD_BYTES)
    const publishedAt = Date.now()
    for (let n = 0; n < MESSAGES; n++) {
      nc.publish(SUBJECT, JSON.stringify({ n, pad }))
      if (n % 50 === 49) {
        await nc.flush()
        rssMax = Math.max(rssMax, rssBytes(pid))
        // Paced by the slowest reader (kept well inside its buffer), so a reader starved of CPU on a
        // busy machine is not mistaken for a slow consumer; the stalled ones fall behind regardless.
        await waitFor(
          async () => (readers.every((r) => r.received >= n - READER_WINDOW) ? true : undefined),
          'the readers to keep up',
          60_000,
          10,
        )
      }
    }
    await nc.flush()
    const publishEnd = Date.now()
    await waitFor(
      async () => {
        rssMax = Math.max(rssMax, rssBytes(pid))
        return readers.every((r) => r.received >= MESSAGES) ? true : undefined
      },
      'every reading client to get every message',
      120_000,
      50,
    )
    const lastDelivery = Math.max(...readers.map((r) => r.lastAt))
    await waitFor(
      async () =>
        metricValue(await metrics(), 'bridge_sse_clients_cut_total') >= STALLED ? true : undefined,
      'the stalled clients to be cut',
    )
    await sleep(200)
    rssMax = Math.max(rssMax, rssBytes(pid))
    const cut = metricValue(await metrics(), 'bridge_sse_clients_cut_total')
    controller.abort()
    await Promise.all(readers.map((r) => r.done))

    const unboundedBytes = STALLED * MESSAGES * PAYLOAD_BYTES
    const growth = rssMax - rssBefore
    report({
      scenario: '8 slow SSE consumers',
      sent: MESSAGES,
      acked: MESSAGES,
      received: Math.min(...readers.map((r) => r.received)),
      lost: MESSAGES - Math.min(...readers.map((r) => r.received)),
      duplicated: Math.max(...readers.map((r) => r.received)) - MESSAGES,
      recovery_ms: null,
      notes: {
        clients: CLIENTS,
        stalled: STALLED,
        cut,
        rss_growth_mib: (growth / MiB).toFixed(1),
        unbounded_would_be_mib: (unboundedBytes / MiB).toFixed(0),
        publish_ms: publishEnd - publishedAt,
        last_delivery_after_publish_ms: lastDelivery - publishEnd,
      },
    })
    expect(readers.map((r) => r.received)).toEqual(readers.map(() => MESSAGES))
    expect(cut).toBe(STALLED)
    // what the stalled clients may hold is their buffer each, not the stream
    expect(growth).toBeLessThan(unboundedBytes / 4)
  }, 180_000)

  it('a webhook receiver that hangs times out and is retried, the other subscription gets every event', async () => {
    const hung: string[] = []
    const healthy = new Map<string, number>()
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler)
      servers.push(server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    }
    const hangUrl = await listen((req) => {
      hung.push(String(req.headers['webhook-id']))
      req.resume()
    })
    const okUrl = await listen((req, res) => {
      const id = String(req.headers['webhook-id'])
      healthy.set(id, (healthy.get(id) ?? 0) + 1)
      req.resume()
      req.on('end', () => res.writeHead(204).end())
    })
    // the subscription registry may still be coming up (503 + Retry-After)
    const subscribe = (name: string, url: string) =>
      waitFor(async () => {
        const res = await fetch(`${bridge.url}/v1/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name, subject: 'library.health.*', url, max_deliver: 3 }),
        })
        const text = await res.text()
        if (res.status === 503) return undefined
        expect(res.status, text).toBe(201)
        return true
      }, `subscription ${name}`)
    await subscribe('hangs', hangUrl)
    await subscribe('healthy', okUrl)

    const EVENTS = 20
    const events = Array.from({ length: EVENTS }, () => healthDegraded())
    const res = await postEvents(bridge.url, { events })
    expect(res.status).toBe(202)
    await waitFor(
      async () => (healthy.size >= EVENTS ? true : undefined),
      'the healthy receiver to get every event',
    )
    const stats = async (name: string) =>
      (
        (await (
          await fetch(`${bridge.url}/v1/subscriptions/${name}`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).json()) as { stats: { dead_letters: number } }
      ).stats
    await waitFor(
      async () => ((await stats('hangs')).dead_letters >= EVENTS ? true : undefined),
      'every event to the hanging receiver to be dead-lettered after its retries',
    )
    const duplicates = [...healthy.values()].reduce((sum, n) => sum + n - 1, 0)
    report({
      scenario: '8 hanging webhook receiver',
      sent: EVENTS,
      acked: EVENTS,
      received: healthy.size,
      lost: EVENTS - healthy.size,
      duplicated: duplicates,
      recovery_ms: null,
      notes: { hanging_attempts: hung.length, hanging_dead_letters: (await stats('hangs')).dead_letters },
    })
    expect(healthy.size).toBe(EVENTS)
    expect(hung.length).toBe(EVENTS * 3)
    expect(new Set(hung).size).toBe(EVENTS)
  }, 120_000)
})
