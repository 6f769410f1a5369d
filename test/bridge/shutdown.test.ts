import { createServer, request as httpRequest, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventsConsumerName } from '../../bridge/subscriptions/store'
import { STREAM_NAME } from '../../shared/subjects'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import {
  ADMIN_TOKEN,
  healthDegraded,
  natsClient,
  type PublishResponse,
  readStream,
} from './support/bridge-client'
import { apiClient, eventually, makeEvent } from './support/subscriptions'

let nats: NatsServerHandle
let nc: NatsConnection
const bridges: BridgeProcess[] = []

beforeAll(async () => {
  nats = await startNatsServer()
  nc = await natsClient(nats.url)
})

afterAll(async () => {
  await nc?.close()
  for (const bridge of bridges) await bridge.kill()
  await nats?.cleanup()
})

const startBridge = async (env: Record<string, string> = {}) => {
  const bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: { LOG_LEVEL: 'debug', ...env },
  })
  bridges.push(bridge)
  return bridge
}

/** A POST whose body is sent in two parts, so the request is provably in flight in between. */
const splitPost = (url: string, path: string, headers: Record<string, string>, body: string) => {
  const bytes = Buffer.from(body)
  const half = Math.floor(bytes.length / 2)
  const req = httpRequest(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-length': String(bytes.length) },
  })
  const response = new Promise<{ status: number; body: string; connection: string | undefined }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }),
        )
        res.on('error', reject)
      })
      req.on('error', reject)
    },
  )
  req.write(bytes.subarray(0, half))
  return { response, finish: () => req.end(bytes.subarray(half)) }
}

describe('graceful shutdown', () => {
  it('on SIGTERM finishes a batch already in flight, then exits 0', async () => {
    const bridge = await startBridge()
    const events = Array.from({ length: 50 }, () => healthDegraded())
    const post = splitPost(
      bridge.url,
      '/v1/events',
      { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      JSON.stringify({ events }),
    )
    await bridge.waitForLog((l) => l.msg === 'request start' && l.path === '/v1/events')

    process.kill(bridge.pid!, 'SIGTERM')
    await bridge.waitForLog((l) => l.msg === 'shutting down')
    const refused = await fetch(`${bridge.url}/health`).then(
      (res) => res.status,
      () => 'refused',
    )
    expect(refused).toBe('refused')

    post.finish()
    const res = await post.response
    expect(res.status).toBe(202)
    const body = JSON.parse(res.body) as PublishResponse
    expect(body.results.map((r) => r.event_id)).toEqual(events.map((e) => e.event_id))

    expect(await bridge.exited()).toEqual({ code: 0, signal: null })
    const stored = new Set((await readStream(nc)).map((m) => m.headers?.get('Nats-Msg-Id')))
    expect(events.every((e) => stored.has(e.event_id))).toBe(true)
    expect(bridge.logLines().some((l) => l.msg === 'shutdown complete')).toBe(true)
  })

  it('on SIGTERM waits for a relayed request to get its reply, then exits 0', async () => {
    const bridge = await startBridge()
    let signalled = false
    const sub = nc.subscribe('svc.slow-shutdown', {
      callback: (_err, msg) => {
        process.kill(bridge.pid!, 'SIGTERM')
        signalled = true
        bridge
          .waitForLog((l) => l.msg === 'shutting down')
          .then(() => msg.respond(JSON.stringify({ done: true })))
      },
    })
    await nc.flush()
    const res = await fetch(`${bridge.url}/v1/request/svc.slow-shutdown?timeout_ms=10000`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(signalled).toBe(true)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ done: true })
    expect(await bridge.exited()).toEqual({ code: 0, signal: null })
    sub.unsubscribe()
  })

  it('on SIGTERM lets a slow webhook delivery finish and acks it before closing NATS', async () => {
    // A receiver that holds each response until the test lets it go.
    const seen: string[] = []
    const held: ServerResponse[] = []
    let arrived = () => {}
    const receiver = createServer((req, res) => {
      seen.push(String(req.headers['webhook-id']))
      req.resume()
      req.on('end', () => {
        held.push(res)
        arrived()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    const waitForDelivery = (count: number) =>
      new Promise<void>((resolve) => {
        arrived = () => held.length >= count && resolve()
        arrived()
      })
    const release = () => {
      for (const res of held.splice(0)) res.writeHead(204).end()
    }

    try {
      const env = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_TIMEOUT_MS: '30000' }
      const bridge = await startBridge(env)
      const api = apiClient(bridge.url, ADMIN_TOKEN)
      const created = await api('POST', '/v1/subscriptions', {
        name: 'shutdown_slow',
        subject: 'library.entity.registered',
        url: hook,
        max_deliver: 5,
      })
      expect(created.status, JSON.stringify(created.json)).toBe(201)

      const js = nc.jetstream()
      const slow = makeEvent('entity.registered', 1)
      const ack = await js.publish('library.entity.registered', JSON.stringify(slow), {
        msgID: slow.event_id,
      })
      await waitForDelivery(1)

      process.kill(bridge.pid!, 'SIGTERM')
      await bridge.waitForLog((l) => l.msg === 'shutting down')
      const refused = await fetch(`${bridge.url}/health`).then(
        (res) => res.status,
        () => 'refused',
      )
      expect(refused).toBe('refused')
      expect(bridge.pid).toBeDefined()

      release()
      expect(await bridge.exited()).toEqual({ code: 0, signal: null })
      const messages = bridge.logLines().map((l) => l.msg)
      expect(messages.indexOf('webhook workers stopped')).toBeGreaterThan(-1)
      expect(messages.indexOf('webhook workers stopped')).toBeLessThan(messages.indexOf('shutdown complete'))
      expect(messages).not.toContain('ack not confirmed')

      // The ack reached the server: nothing is pending for the consumer, so nothing can come back.
      const info = await (await nc.jetstreamManager()).consumers.info(
        STREAM_NAME,
        eventsConsumerName('shutdown_slow'),
      )
      expect(info.num_ack_pending).toBe(0)
      expect(info.num_redelivered).toBe(0)
      expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(ack.seq)

      // A fresh bridge picks the subscription up again and delivers only what came after.
      await bridge.restart()
      await eventually(async () => (await fetch(`${bridge.url}/ready`)).status === 200)
      const next = makeEvent('entity.registered', 2)
      await js.publish('library.entity.registered', JSON.stringify(next), { msgID: next.event_id })
      await waitForDelivery(1)
      release()
      expect(seen).toEqual([slow.event_id, next.event_id])
      await bridge.stop()
    } finally {
      release()
      receiver.closeAllConnections()
      await new Promise<void>((resolve) => receiver.close(() => resolve()))
    }
  })
})
