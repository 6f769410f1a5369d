import { request as httpRequest } from 'node:http'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { ADMIN_TOKEN, healthDegraded, natsClient, type PublishResponse, readStream } from './helpers'

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

const startBridge = async () => {
  const bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: { LOG_LEVEL: 'debug' },
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
})
