import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subjectMatches } from '../../shared/subject-validation'
import { entityRegistered, healthDegraded, startWiretap } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { waitFor } from './support/load'
import { report } from './support/report'

const TOKENS = {
  admin: { token: 'auth-admin-token-5b9c1e7d3f', publish: ['>'], request: ['>'], subscribe: ['>'] },
  narrow: {
    token: 'auth-narrow-token-8e2a6c4b0d',
    publish: ['library.entity.*'],
    request: ['echo.>'],
    subscribe: ['library.entity.*'],
  },
  none: { token: 'auth-none-token-3d7f1b9e5a' },
}
const WRONG_TOKENS = [
  'auth-wrong-token-1a2b3c4d5e',
  `${TOKENS.admin.token}x`,
  TOKENS.admin.token.slice(0, -1),
]
const WEBHOOK_SECRET = `whsec_${Buffer.from('auth-test-webhook-secret-0123456789').toString('base64')}`

let nats: NatsServerHandle
let bridge: BridgeProcess
let nc: NatsConnection
let receiver: Server
let receiverUrl: string
const deliveries: IncomingHttpHeaders[] = []

beforeAll(async () => {
  nats = await startNatsServer()
  receiver = createServer((req, res) => {
    deliveries.push(req.headers)
    req.resume()
    req.on('end', () => res.writeHead(500).end('receiver down'))
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    tokens: TOKENS,
    env: {
      LOG_LEVEL: 'trace',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_INITIAL_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '100',
    },
  })
  nc = await connect({ servers: nats.url })
  nc.subscribe('echo.>', { callback: (_err, msg) => msg.respond(msg.data) })
  await nc.flush()
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await bridge?.stop()
  await new Promise((resolve) => receiver?.close(resolve))
  await nats?.cleanup()
})

const call = async (method: string, path: string, authorization?: string, body?: unknown) => {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (authorization !== undefined) headers.authorization = authorization
  const controller = new AbortController()
  const res = await fetch(`${bridge.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: controller.signal,
  })
  const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? '' : await res.text()
  controller.abort()
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined }
}

/** Every /v1 route, with a request that is in scope for `admin` and out of scope for `narrow`. */
const ROUTES = [
  { method: 'POST', path: '/v1/events', body: healthDegraded() },
  { method: 'POST', path: '/v1/events', body: { events: [entityRegistered(), healthDegraded()] } },
  { method: 'POST', path: '/v1/request/library.swap.command', body: { ping: 1 } },
  { method: 'GET', path: '/v1/subscribe?subject=library.health.degraded' },
  { method: 'GET', path: '/v1/subscribe?subject=library.>' },
  {
    method: 'POST',
    path: '/v1/subscriptions',
    body: { name: 'out-of-scope', subject: 'library.health.*', url: 'http://127.0.0.1:9/x' },
  },
  { method: 'GET', path: '/v1/subscriptions/audit-hook' },
  { method: 'DELETE', path: '/v1/subscriptions/audit-hook' },
  { method: 'POST', path: '/v1/subscriptions/audit-hook/replay', body: {} },
  { method: 'POST', path: '/v1/subscriptions/audit-hook/pause', body: {} },
  { method: 'POST', path: '/v1/subscriptions/audit-hook/resume', body: {} },
  { method: 'GET', path: '/v1/subscriptions' },
]

describe('auth on every /v1 route, and no secret in the logs', () => {
  it('refuses a missing, malformed or wrong token with 401 and an out-of-scope one with 403/404', async () => {
    // an admin-owned subscription the narrow token must not see or touch
    // the subscription registry may still be coming up (503 + Retry-After) right after /ready
    await waitFor(async () => {
      const created = await call('POST', '/v1/subscriptions', `Bearer ${TOKENS.admin.token}`, {
        name: 'audit-hook',
        subject: 'library.health.*',
        url: receiverUrl,
        secret: WEBHOOK_SECRET,
        max_deliver: 2,
      })
      if (created.status === 503) return undefined
      expect(created.status, JSON.stringify(created.json)).toBe(201)
      return true
    }, 'the subscription to be created')

    const wiretap = await startWiretap(nc)
    let calls = 0
    const unauthenticated = [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Basic ${Buffer.from(`admin:${TOKENS.admin.token}`).toString('base64')}`,
      `Token ${TOKENS.admin.token}`,
      `Bearer ${TOKENS.admin.token} extra`,
      ...WRONG_TOKENS.map((t) => `Bearer ${t}`),
    ]
    for (const route of ROUTES) {
      for (const authorization of unauthenticated) {
        calls++
        const res = await call(route.method, route.path, authorization, route.body)
        expect({ route: route.path, authorization, status: res.status }).toEqual({
          route: route.path,
          authorization,
          status: 401,
        })
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="bridge"/)
        expect(res.json.error.code).toMatch(/^(unauthorized|invalid_token)$/)
      }
      for (const token of [TOKENS.narrow.token, TOKENS.none.token]) {
        calls++
        const res = await call(route.method, route.path, `Bearer ${token}`, route.body)
        if (route.method === 'GET' && route.path === '/v1/subscriptions') {
          expect(res.status).toBe(200)
          expect(res.json.subscriptions.map((s: { name: string }) => s.name)).not.toContain('audit-hook')
        } else {
          // a named subscription outside the caller's scope does not exist for it
          const expected = route.path.startsWith('/v1/subscriptions/') ? 404 : 403
          expect({ route: route.path, status: res.status }).toEqual({ route: route.path, status: expected })
        }
      }
    }
    await wiretap.stop()
    // new publishes only: JetStream API traffic, replies, and deliveries of what was stored before
    const leaked = wiretap.seen
      .filter(
        (m) =>
          !subjectMatches('$JS.>', m.subject) &&
          !subjectMatches('_INBOX.>', m.subject) &&
          !m.reply?.startsWith('$JS.ACK.'),
      )
      .map((m) => m.subject)
    expect(leaked).toEqual([])
    expect((await call('GET', '/v1/subscriptions/audit-hook', `Bearer ${TOKENS.admin.token}`)).status).toBe(
      200,
    )

    // the secret is used (deliveries are signed, fail and are retried), and must still never be logged
    const acked = await call('POST', '/v1/events', `Bearer ${TOKENS.admin.token}`, healthDegraded())
    expect(acked.status).toBe(202)
    await waitFor(async () => (deliveries.length >= 2 ? true : undefined), 'two failed webhook deliveries')
    expect(deliveries[0]?.['webhook-signature']).toMatch(/^v1,/)
    await waitFor(async () => {
      const shown = await call('GET', '/v1/subscriptions/audit-hook', `Bearer ${TOKENS.admin.token}`)
      return shown.json.stats.dead_letters >= 1 ? true : undefined
    }, 'the event to be dead-lettered')

    const output = bridge.output()
    const secrets = [
      ...Object.values(TOKENS).map((t) => t.token),
      ...WRONG_TOKENS,
      WEBHOOK_SECRET,
      WEBHOOK_SECRET.slice('whsec_'.length),
    ]
    const found = secrets.filter((s) => output.includes(s))
    report({
      scenario: '10 auth and secrets',
      sent: calls,
      acked: 0,
      received: leaked.length,
      lost: 0,
      duplicated: 0,
      recovery_ms: null,
      notes: {
        routes: ROUTES.length,
        refused: calls,
        log_lines: bridge.logLines().length,
        secrets_in_logs: found.length,
      },
    })
    expect(bridge.logLines().length).toBeGreaterThan(ROUTES.length)
    expect(found).toEqual([])
  })
})
