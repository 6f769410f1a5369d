import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { connect, type NatsConnection } from 'nats'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Bridge, createBridge } from '../../bridge/bridge'
import { loadConfig } from '../../bridge/config'
import { createMetrics } from '../../bridge/metrics'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { ADMIN_TOKEN, jsonHeaders } from './support/bridge-client'

const FORWARD_TOKEN = 'forward-token-0123456789'

let nats: NatsServerHandle
let target: Server
let targetUrl: string
let client: NatsConnection
const bridges: Bridge[] = []

/** A bridge from createBridge, as main.ts builds it, with its log lines kept. */
const bridgeWith = (env: Record<string, string> = {}) => {
  const lines: Array<{ msg: string }> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const config = loadConfig({
    NATS_URL: nats.url,
    STREAM_STORAGE: 'memory',
    BRIDGE_PORT: '0',
    BRIDGE_TOKENS: JSON.stringify({ admin: { token: ADMIN_TOKEN, request: ['svc.>'], admin: true } }),
    FORWARD_ROUTES: JSON.stringify([{ subject: 'svc.echo', url: `${targetUrl}/echo` }]),
    FORWARD_TOKEN,
    ...env,
  })
  const bridge = createBridge(config, {
    logger: pino({ level: 'info' }, sink),
    metrics: createMetrics({ defaultMetrics: false }),
  })
  bridges.push(bridge)
  return { bridge, messages: () => lines.map((l) => l.msg) }
}

const until = async (holds: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 400; i++) {
    if (await holds()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('the condition never held')
}

beforeAll(async () => {
  nats = await startNatsServer()
  target = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ echoed: JSON.parse(body || 'null') }))
    })
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  client = await connect({ servers: nats.url })
}, 60_000)

afterEach(async () => {
  await Promise.allSettled(bridges.splice(0).map((b) => b.stop()))
})

afterAll(async () => {
  await client?.close()
  await new Promise((resolve) => target?.close(resolve))
  await nats?.cleanup()
})

describe('createBridge', () => {
  it('starts every part: HTTP, NATS, the stream and the forward routes', async () => {
    const { bridge } = bridgeWith()
    const { port } = await bridge.start()
    await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200)
    await until(() => client.info !== undefined)
    const reply = await client.request('svc.echo', new TextEncoder().encode('{"a":1}'), { timeout: 5_000 })
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toEqual({ echoed: { a: 1 } })
  })

  it('stops HTTP, then the services, then NATS; stopping twice is stopping once', async () => {
    const { bridge, messages } = bridgeWith()
    const { port } = await bridge.start()
    await until(() => bridge.deps.nats.isConnected())
    const first = bridge.stop('test')
    expect(bridge.stop()).toBe(first)
    await first
    expect(bridge.deps.nats.state).toBe('closed')
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow()
    const log = messages()
    expect(log.indexOf('shutting down')).toBeGreaterThan(-1)
    expect(log.indexOf('webhook workers stopped')).toBeGreaterThan(log.indexOf('shutting down'))
    expect(log.indexOf('shutdown complete')).toBeGreaterThan(log.indexOf('webhook workers stopped'))
  })

  it('gives up on a shutdown that outlasts BRIDGE_SHUTDOWN_GRACE_MS', async () => {
    const { bridge } = bridgeWith({ BRIDGE_SHUTDOWN_GRACE_MS: '200' })
    const { port } = await bridge.start()
    await until(() => bridge.deps.nats.isConnected())
    // a responder that never answers holds one relayed request open for its whole timeout
    const silent = client.subscribe('svc.silent')
    await client.flush()
    const pending = fetch(`http://127.0.0.1:${port}/v1/request/svc.silent`, {
      method: 'POST',
      headers: { ...jsonHeaders(), 'x-timeout-ms': '5000' },
      body: '{}',
    })
    for await (const _ of silent) break
    await expect(bridge.stop()).rejects.toThrow('graceful shutdown took too long')
    expect((await pending).status).toBe(504)
  }, 15_000)
})
