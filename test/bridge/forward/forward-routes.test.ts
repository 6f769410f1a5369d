import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, headers, type NatsConnection, ServiceError } from 'nats'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../bridge/config'
import { createForwarder, type Forwarder } from '../../../bridge/forward/forwarder'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'

interface Hit {
  path: string
  headers: IncomingMessage['headers']
  body: string
}

const TOKEN = 'forward-token-0123456789'
const SECRET = `whsec_${Buffer.from('a-signing-secret-of-32-bytes!!!!').toString('base64')}`
const logger = pino({ level: 'silent' })
const decode = (data: Uint8Array) => new TextDecoder().decode(data)

let nats: NatsServerHandle
let target: Server
let base: string
let hits: Hit[] = []
const connections: NatsConnection[] = []
const forwarders: Forwarder[] = []

const handler = (req: IncomingMessage, res: ServerResponse, body: string) => {
  hits.push({ path: req.url ?? '', headers: req.headers, body })
  switch (req.url) {
    case '/echo':
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ echoed: JSON.parse(body) }))
      return
    case '/invalid':
      res.writeHead(422, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'unprocessable', message: 'swap ids are the same' } }))
      return
    case '/empty-500':
      res.writeHead(500)
      res.end()
      return
    case '/slow':
      setTimeout(() => {
        res.writeHead(200)
        res.end('{}')
      }, 3_000)
      return
    default:
      res.writeHead(404)
      res.end()
  }
}

const natsClient = async () => {
  const nc = await connect({ servers: nats.url })
  connections.push(nc)
  return nc
}

const forwarder = (routes: unknown[], extra: Record<string, string> = { FORWARD_TOKEN: TOKEN }) => {
  const config = loadConfig({ FORWARD_ROUTES: JSON.stringify(routes), ...extra }).forward
  const f = createForwarder({ config, logger })
  forwarders.push(f)
  return f
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false })
  target = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => handler(req, res, body))
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
})

afterAll(async () => {
  await Promise.allSettled(forwarders.map((f) => f.drain()))
  await Promise.allSettled(connections.map((nc) => nc.close()))
  target?.closeAllConnections()
  await new Promise((resolve) => target?.close(resolve))
  await nats?.cleanup()
})

beforeEach(() => {
  hits = []
})

describe('forward routes', () => {
  it('POSTs the request with subject, reply-expected, traceparent and token, and replies with the body', async () => {
    const bridge = await natsClient()
    forwarder([{ subject: 'fw.echo', url: `${base}/echo` }]).attach(bridge)
    await bridge.flush()
    const client = await natsClient()
    const h = headers()
    h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    const reply = await client.request('fw.echo', JSON.stringify({ a: 1 }), { timeout: 5_000, headers: h })
    expect(JSON.parse(decode(reply.data))).toEqual({ echoed: { a: 1 } })
    expect(ServiceError.isServiceError(reply)).toBe(false)
    expect(hits).toHaveLength(1)
    const hit = hits[0]!
    expect(hit.headers['nats-subject']).toBe('fw.echo')
    expect(hit.headers['nats-reply-expected']).toBe('true')
    expect(hit.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    expect(hit.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(hit.body).toBe('{"a":1}')
  })

  it('signs the request per Standard Webhooks when a signing secret is set', async () => {
    const bridge = await natsClient()
    forwarder([{ subject: 'fw.signed', url: `${base}/echo` }], { FORWARD_SIGNING_SECRET: SECRET }).attach(
      bridge,
    )
    await bridge.flush()
    const client = await natsClient()
    await client.request('fw.signed', '{"b":2}', { timeout: 5_000 })
    const hit = hits[0]!
    expect(hit.headers.authorization).toBeUndefined()
    const verified = new Webhook(SECRET).verify(hit.body, {
      'webhook-id': String(hit.headers['webhook-id']),
      'webhook-timestamp': String(hit.headers['webhook-timestamp']),
      'webhook-signature': String(hit.headers['webhook-signature']),
    })
    expect(verified).toEqual({ b: 2 })
  })

  it('turns HTTP errors into service error replies, keeping the upstream body', async () => {
    const bridge = await natsClient()
    forwarder([
      { subject: 'fw.invalid', url: `${base}/invalid` },
      { subject: 'fw.empty', url: `${base}/empty-500` },
    ]).attach(bridge)
    await bridge.flush()
    const client = await natsClient()
    const invalid = await client.request('fw.invalid', '{}', { timeout: 5_000 })
    expect(invalid.headers?.get('Nats-Service-Error-Code')).toBe('422')
    expect(invalid.headers?.get('Nats-Service-Error')).toBe('swap ids are the same')
    expect(JSON.parse(decode(invalid.data)).error.code).toBe('unprocessable')

    const empty = await client.request('fw.empty', '{}', { timeout: 5_000 })
    expect(empty.headers?.get('Nats-Service-Error-Code')).toBe('500')
    expect(JSON.parse(decode(empty.data)).error.code).toBe('upstream_error')
  })

  it('answers a timeout and an unreachable target with an error reply instead of silence', async () => {
    const bridge = await natsClient()
    forwarder([
      { subject: 'fw.slow', url: `${base}/slow`, timeout_ms: 300 },
      { subject: 'fw.down', url: 'http://127.0.0.1:1/nothing-listens-here' },
    ]).attach(bridge)
    await bridge.flush()
    const client = await natsClient()
    const slow = await client.request('fw.slow', '{}', { timeout: 10_000 })
    expect(slow.headers?.get('Nats-Service-Error-Code')).toBe('504')
    expect(JSON.parse(decode(slow.data)).error.code).toBe('upstream_timeout')

    const down = await client.request('fw.down', '{}', { timeout: 10_000 })
    expect(down.headers?.get('Nats-Service-Error-Code')).toBe('502')
    expect(JSON.parse(decode(down.data)).error.code).toBe('upstream_unreachable')
  })

  it('answers each request once across replicas sharing the queue group', async () => {
    for (let i = 0; i < 2; i++)
      forwarder([{ subject: 'fw.queue', url: `${base}/echo` }]).attach(await natsClient())
    for (const nc of connections) await nc.flush()
    const client = await natsClient()
    const replies: string[] = []
    const inbox = client.subscribe('_INBOX.fw-queue.*', {
      callback: (_err, msg) => replies.push(decode(msg.data)),
    })
    for (let i = 0; i < 10; i++)
      client.publish('fw.queue', JSON.stringify({ i }), { reply: `_INBOX.fw-queue.${i}` })
    await expect.poll(() => hits.length, { timeout: 10_000 }).toBe(10)
    await expect.poll(() => replies.length, { timeout: 10_000 }).toBe(10)
    await client.flush()
    expect(hits).toHaveLength(10)
    expect(replies.map((r) => JSON.parse(r).echoed.i).sort((a, b) => a - b)).toEqual([...Array(10).keys()])
    inbox.unsubscribe()
  })

  it('subscribes once attached, so a bridge that started without NATS starts answering later', async () => {
    const f = forwarder([{ subject: 'fw.late', url: `${base}/echo` }])
    const client = await natsClient()
    await expect(client.request('fw.late', '{}', { timeout: 2_000 })).rejects.toMatchObject({ code: '503' })
    const bridge = await natsClient()
    f.attach(bridge)
    await bridge.flush()
    const reply = await client.request('fw.late', '{"c":3}', { timeout: 5_000 })
    expect(JSON.parse(decode(reply.data))).toEqual({ echoed: { c: 3 } })
  })

  it('posts but never replies on routes with reply: false', async () => {
    const bridge = await natsClient()
    forwarder([{ subject: 'fw.event', url: `${base}/echo`, reply: false }]).attach(bridge)
    await bridge.flush()
    const client = await natsClient()
    const replies: string[] = []
    client.subscribe('_INBOX.fw-event', { callback: (_err, msg) => replies.push(decode(msg.data)) })
    client.publish('fw.event', '{"d":4}', { reply: '_INBOX.fw-event' })
    await expect.poll(() => hits.length, { timeout: 10_000 }).toBe(1)
    expect(hits[0]!.headers['nats-reply-expected']).toBe('false')
    // a sentinel published after the forward shows whether a reply was sent in between
    await expect.poll(() => forwarders.at(-1)!.inFlight, { timeout: 10_000 }).toBe(0)
    client.publish('_INBOX.fw-event', 'sentinel')
    await expect.poll(() => replies.length, { timeout: 10_000 }).toBe(1)
    expect(replies).toEqual(['sentinel'])
  })
})

describe('FORWARD_ROUTES validation', () => {
  const parse = (routes: unknown, extra: Record<string, string> = { FORWARD_TOKEN: TOKEN }) =>
    loadConfig({
      FORWARD_ROUTES: typeof routes === 'string' ? routes : JSON.stringify(routes),
      ...extra,
    }).forward

  it('applies defaults', () => {
    expect(parse([{ subject: 'library.swap.validate', url: 'http://x.test/a' }]).routes).toEqual([
      {
        subject: 'library.swap.validate',
        url: 'http://x.test/a',
        queue: 'library-bridge',
        timeoutMs: 5_000,
        reply: true,
      },
    ])
  })

  it.each([
    ['not json', '[{', 'not valid JSON'],
    ['subject with a space', [{ subject: 'a b', url: 'http://x.test' }], 'subject'],
    ['subject with CR/LF', [{ subject: 'a\r\nPUB x', url: 'http://x.test' }], 'subject'],
    ['empty token', [{ subject: 'a..b', url: 'http://x.test' }], 'subject'],
    ['ftp url', [{ subject: 'a', url: 'ftp://x.test' }], 'url'],
    ['credentials in the url', [{ subject: 'a', url: 'http://user:hunter2@x.test/hook' }], 'credentials'],
    ['zero timeout', [{ subject: 'a', url: 'http://x.test', timeout_ms: 0 }], 'timeout_ms'],
    ['unknown field', [{ subject: 'a', url: 'http://x.test', extra: 1 }], 'extra'],
    [
      'duplicate',
      [
        { subject: 'a', url: 'http://x.test' },
        { subject: 'a', url: 'http://y.test' },
      ],
      'twice',
    ],
  ])('rejects %s', (_name, routes, fragment) => {
    expect(() => parse(routes)).toThrow(fragment)
    expect(() => parse(routes)).toThrow('FORWARD_ROUTES')
  })

  it('requires a credential for the target', () => {
    expect(() => parse([{ subject: 'a', url: 'http://x.test' }], {})).toThrow('FORWARD_TOKEN')
  })
})
