import { connect, type NatsConnection } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deliver } from '../../bridge/subscriptions/deliver'
import { parseAllowlist, parsePorts } from '../../bridge/subscriptions/ssrf-guard'
import { Receiver } from '../bridge/support/receiver'
import { type Api, apiClient, eventually, makeEvent, publishEvents } from '../bridge/support/subscriptions'
import { type BridgeProcess, startBridgeProcess, type TokenSpec } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'

/** Two tenants with the same scope, a third for races, and an operator. */
const TOKENS = {
  alice: { token: 'alice-token-0123456789abcdef', subscribe: ['library.>'] },
  bob: { token: 'bob-token-0123456789abcdef', subscribe: ['library.>'] },
  carol: { token: 'carol-token-0123456789abcdef', subscribe: ['library.>'] },
  ops: {
    token: 'ops-token-0123456789abcdef',
    publish: ['library.>'],
    request: ['library.>'],
    subscribe: ['>'],
    admin: true,
  },
} satisfies Record<string, TokenSpec>
type Who = keyof typeof TOKENS

const PER_PRINCIPAL = 3
const TOTAL = 8
const ENV = {
  STREAM_STORAGE: 'memory',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_MAX_SUBSCRIPTIONS_PER_PRINCIPAL: String(PER_PRINCIPAL),
  WEBHOOK_MAX_SUBSCRIPTIONS: String(TOTAL),
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_ACK_WAIT_MS: '3000',
}

let nats: NatsServerHandle
/** Two replicas sharing one registry. */
let replicas: [BridgeProcess, BridgeProcess]
let nc: NatsConnection
const receivers: Receiver[] = []
const cleanups: Array<() => Promise<unknown>> = []

const as = (who: Who, replica = 0): Api =>
  apiClient((replicas[replica] as BridgeProcess).url, TOKENS[who].token)

beforeAll(async () => {
  nats = await startNatsServer()
  replicas = (await Promise.all([
    startBridgeProcess({ natsUrl: nats.url, tokens: TOKENS, env: ENV, waitFor: 'ready' }),
    startBridgeProcess({ natsUrl: nats.url, tokens: TOKENS, env: ENV, waitFor: 'ready' }),
  ])) as [BridgeProcess, BridgeProcess]
  nc = await connect({ servers: nats.url })
}, 90_000)

afterEach(async () => {
  // The operator sees every subscription: none outlives its test.
  const list = await as('ops')('GET', '/v1/subscriptions')
  for (const s of list.json.subscriptions as Array<{ name: string }>)
    expect((await as('ops')('DELETE', `/v1/subscriptions/${s.name}`)).status).toBe(204)
  for (const r of receivers.splice(0)) await r.close()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await Promise.all((replicas ?? []).map((b) => b?.stop()))
  await nats?.cleanup()
})

const receiver = async () => {
  const r = await Receiver.start()
  receivers.push(r)
  return r
}

const create = (who: Who, name: string, url: string, extra: Record<string, unknown> = {}, replica = 0) =>
  as(who, replica)('POST', '/v1/subscriptions', { name, subject: 'library.entity.*', url, ...extra })

const names = (list: { json: { subscriptions: Array<{ name: string }> } }) =>
  list.json.subscriptions.map((s) => s.name).sort()

describe('a webhook subscription belongs to the principal that created it', () => {
  it('another principal gets 404 on every operation, on either replica, exactly as for a name that does not exist; the operator manages it', async () => {
    const r = await receiver()
    expect((await create('alice', 'alice-hook', r.url)).status).toBe(201)
    expect((await create('bob', 'bob-hook', r.url, {}, 1)).status).toBe(201)

    const operations: Array<[string, string]> = [
      ['GET', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/replay'],
      ['DELETE', ''],
    ]
    for (const replica of [0, 1]) {
      for (const [method, suffix] of operations) {
        const theirs = await as('bob', replica)(method, `/v1/subscriptions/alice-hook${suffix}`)
        const missing = await as('bob', replica)(method, `/v1/subscriptions/alice-hoox${suffix}`)
        expect({ method, suffix, replica, status: theirs.status, code: theirs.json.error.code }).toEqual({
          method,
          suffix,
          replica,
          status: 404,
          code: 'not_found',
        })
        expect(theirs.json.error.message.replace('alice-hook', 'NAME')).toBe(
          missing.json.error.message.replace('alice-hoox', 'NAME'),
        )
        expect(theirs.json.error.details ?? null).toEqual(missing.json.error.details ?? null)
      }
      expect(names(await as('bob', replica)('GET', '/v1/subscriptions'))).toEqual(['bob-hook'])
      expect(names(await as('alice', replica)('GET', '/v1/subscriptions'))).toEqual(['alice-hook'])
    }
    // Bob's attempts changed nothing.
    const shown = await as('alice', 1)('GET', '/v1/subscriptions/alice-hook')
    expect(shown.status).toBe(200)
    expect(shown.json).toMatchObject({ name: 'alice-hook', state: 'active', created_by: 'alice' })

    // The creator manages it.
    expect((await as('alice')('POST', '/v1/subscriptions/alice-hook/pause')).json.state).toBe('paused')
    expect((await as('alice', 1)('POST', '/v1/subscriptions/alice-hook/resume')).json.state).toBe('active')
    expect((await as('alice')('POST', '/v1/subscriptions/alice-hook/replay')).status).toBe(202)

    // The operator sees and manages everyone's.
    expect(names(await as('ops')('GET', '/v1/subscriptions'))).toEqual(['alice-hook', 'bob-hook'])
    expect((await as('ops', 1)('GET', '/v1/subscriptions/alice-hook')).status).toBe(200)
    expect((await as('ops')('POST', '/v1/subscriptions/alice-hook/pause')).json.state).toBe('paused')
    expect((await as('ops', 1)('POST', '/v1/subscriptions/alice-hook/resume')).json.state).toBe('active')
    expect((await as('ops')('POST', '/v1/subscriptions/bob-hook/replay')).status).toBe(202)
    expect((await as('ops', 1)('DELETE', '/v1/subscriptions/alice-hook')).status).toBe(204)
    expect((await as('alice')('GET', '/v1/subscriptions/alice-hook')).status).toBe(404)
    // Bob deletes his own.
    expect((await as('bob')('DELETE', '/v1/subscriptions/bob-hook')).status).toBe(204)
  })
})

describe('subscription limits, counted in the registry both replicas share', () => {
  it(`${PER_PRINCIPAL} per principal and ${TOTAL} in all, each with its own 429 code`, async () => {
    const r = await receiver()
    const created = async (who: Who, name: string, replica: number) => {
      const res = await create(who, name, r.url, {}, replica)
      expect(res.status, JSON.stringify(res.json)).toBe(201)
    }
    for (let i = 0; i < PER_PRINCIPAL; i++) await created('alice', `alice-${i}`, i % 2)
    for (const replica of [0, 1]) {
      const over = await create('alice', 'alice-over', r.url, {}, replica)
      expect(over.status).toBe(429)
      expect(over.json.error).toMatchObject({
        code: 'subscription_limit_principal',
        details: { limit: PER_PRINCIPAL },
      })
    }
    for (let i = 0; i < PER_PRINCIPAL; i++) await created('bob', `bob-${i}`, (i + 1) % 2)
    await created('ops', 'ops-0', 0)
    await created('ops', 'ops-1', 1)
    expect(names(await as('ops')('GET', '/v1/subscriptions'))).toHaveLength(TOTAL)

    for (const [who, replica] of [
      ['carol', 0],
      ['carol', 1],
      ['ops', 0],
    ] as const) {
      const full = await create(who, `${who}-full`, r.url, {}, replica)
      expect(full.status).toBe(429)
      expect(full.json.error).toMatchObject({ code: 'subscription_limit_total', details: { limit: TOTAL } })
    }
    // Refused creations leave nothing behind.
    expect(names(await as('ops')('GET', '/v1/subscriptions'))).toHaveLength(TOTAL)

    // A place freed on one replica is usable on the other.
    expect((await as('alice', 0)('DELETE', '/v1/subscriptions/alice-0')).status).toBe(204)
    await created('carol', 'carol-0', 1)
    expect((await create('alice', 'alice-again', r.url, {}, 0)).json.error.code).toBe(
      'subscription_limit_total',
    )
  })

  it('concurrent creations on both replicas never pass the limit', async () => {
    const r = await receiver()
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => create('carol', `carol-race-${i}`, r.url, {}, i % 2)),
    )
    const statuses = results.map((res) => res.status)
    expect(
      statuses.every((s) => s === 201 || s === 429),
      JSON.stringify(statuses),
    ).toBe(true)
    for (const res of results.filter((x) => x.status === 429))
      expect(res.json.error.code).toBe('subscription_limit_principal')
    const admitted = results.filter((x) => x.status === 201).length
    expect(admitted).toBeLessThanOrEqual(PER_PRINCIPAL)
    // What the registry holds is what was answered 201.
    const listed = names(await as('carol', 1)('GET', '/v1/subscriptions'))
    expect(listed).toHaveLength(admitted)
    expect(names(await as('ops')('GET', '/v1/subscriptions'))).toEqual(listed)
    // Withdrawn ones leave no delivery consumer behind, on either stream.
    const jsm = await nc.jetstreamManager()
    const durables = async (stream: string) => {
      const found: string[] = []
      for await (const info of jsm.consumers.list(stream))
        if (info.name.startsWith('webhook_carol-race-')) found.push(info.name)
      return found.sort()
    }
    const wanted = listed.map((name) => `webhook_${name}`)
    await eventually(async () => JSON.stringify(await durables('LIBRARY_EVENTS')) === JSON.stringify(wanted))
    await eventually(
      async () =>
        JSON.stringify(await durables('LIBRARY_DLQ_REPLAY')) ===
        JSON.stringify(wanted.map((name) => `${name}_replay`)),
    )
  })
})

describe('retry pacing floors', () => {
  it('refuses a first retry under 1 s and more than 100 attempts, naming the field; the bounds themselves are accepted', async () => {
    const r = await receiver()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ backoff: { initial_ms: 999, max_ms: 5_000 } }, 'backoff.initial_ms'],
      [{ backoff: { initial_ms: 10, max_ms: 10 } }, 'backoff.initial_ms'],
      [{ max_deliver: 101 }, 'max_deliver'],
      [{ max_deliver: 1_000 }, 'max_deliver'],
    ]
    for (const [extra, path] of cases) {
      const res = await create('alice', 'pacing', r.url, extra)
      expect({ extra, status: res.status, code: res.json.error.code }).toEqual({
        extra,
        status: 400,
        code: 'invalid_input',
      })
      expect(res.json.error.details.map((d: { path: string }) => d.path)).toEqual([path])
    }
    const both = await create('alice', 'pacing', r.url, {
      max_deliver: 500,
      backoff: { initial_ms: 50, max_ms: 100 },
    })
    expect(both.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'backoff.initial_ms',
      'max_deliver',
    ])
    const atBounds = await create('alice', 'pacing', r.url, {
      max_deliver: 100,
      backoff: { initial_ms: 1_000, max_ms: 1_000 },
    })
    expect(atBounds.status, JSON.stringify(atBounds.json)).toBe(201)
  })

  it('full jitter does not bring a retry under the 1 s floor', async () => {
    const r = await receiver()
    r.reply = () => ({ status: 503 })
    const res = await create('alice', 'jittery', r.url, {
      subject: 'library.deployment.started',
      max_deliver: 4,
      backoff: { initial_ms: 1_000, max_ms: 1_000, factor: 1, jitter: 1 },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(201)
    const [event] = await publishEvents(nc.jetstream(), 'deployment.started', 1)
    await r.until((x) => x.attemptsFor(event?.event_id ?? '').length >= 4)
    const attempts = r.attemptsFor(event?.event_id ?? '')
    const gaps = attempts.slice(1).map((a, i) => a.at - (attempts[i]?.at ?? 0))
    for (const gap of gaps) expect(gap, JSON.stringify(gaps)).toBeGreaterThanOrEqual(995)
  })

  it('an operator who raises the bounds lets a subscription ask for more', async () => {
    const raised = await startBridgeProcess({
      natsUrl: nats.url,
      tokens: TOKENS,
      env: { ...ENV, WEBHOOK_BACKOFF_INITIAL_MIN_MS: '100', WEBHOOK_MAX_DELIVER_MAX: '500' },
      waitFor: 'ready',
    })
    cleanups.push(() => raised.stop())
    const r = await receiver()
    const api = apiClient(raised.url, TOKENS.alice.token)
    const body = { name: 'raised', subject: 'library.entity.*', url: r.url }
    const ok = await api('POST', '/v1/subscriptions', {
      ...body,
      max_deliver: 500,
      backoff: { initial_ms: 100, max_ms: 1_000 },
    })
    expect(ok.status, JSON.stringify(ok.json)).toBe(201)
    const still = await api('POST', '/v1/subscriptions', { ...body, name: 'raised-2', max_deliver: 501 })
    expect([still.status, still.json.error.details[0].path]).toEqual([400, 'max_deliver'])
  })
})

describe('webhook URLs: IPv6 forms that embed IPv4, and ports', () => {
  it('refuses every IPv6 form that embeds a loopback, private or link-local IPv4 even with 127.0.0.1 allowlisted', async () => {
    const r = await receiver()
    const port = r.port
    const urls = [
      `http://[::7f00:1]:${port}/hook`,
      `http://[::127.0.0.1]:${port}/hook`,
      `http://[0:0:0:0:0:0:7f00:1]:${port}/hook`,
      `http://[::7F00:1]:${port}/hook`,
      `http://[::a00:1]:${port}/hook`,
      `http://[::808:808]:${port}/hook`,
      `http://[64:ff9b::7f00:1]:${port}/hook`,
      `http://[64:ff9b::127.0.0.1]:${port}/hook`,
      'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
      'http://[64:ff9b:1::a00:1]/hook',
      `http://[::ffff:0:7f00:1]:${port}/hook`,
      `http://[2002:7f00:1::1]:${port}/hook`,
      'http://[2002:808:808::1]/hook',
      'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
      'http://[2001::7f00:1]/hook',
    ]
    for (const url of urls) {
      const res = await create('alice', 'embedded', url)
      expect({ url, status: res.status, code: res.json.error?.code }).toEqual({
        url,
        status: 400,
        code: 'url_not_allowed',
      })
      expect(res.json.error.details[0].path).toBe('url')
    }
    // The allowlisted address itself, also written as IPv4-mapped IPv6, is accepted.
    expect((await create('alice', 'plain', `http://127.0.0.1:${port}/hook`)).status).toBe(201)
    expect((await create('alice', 'mapped', `http://[::ffff:127.0.0.1]:${port}/hook`)).status).toBe(201)
    expect(r.connections).toBe(0)
  })

  it('admits ports 80, 443 and 1024-65535 by default and refuses system ports at creation', async () => {
    for (const port of [1, 22, 25, 53, 110, 445, 1023]) {
      const res = await create('alice', 'port', `http://127.0.0.1:${port}/hook`)
      expect({ port, status: res.status, code: res.json.error?.code }).toEqual({
        port,
        status: 400,
        code: 'url_not_allowed',
      })
      expect(res.json.error.details).toEqual([
        { path: 'url', message: expect.stringContaining(`port ${port}`) },
      ])
    }
    for (const url of [
      'http://127.0.0.1/hook',
      'http://127.0.0.1:80/hook',
      'https://127.0.0.1/hook',
      'https://127.0.0.1:443/hook',
      'http://127.0.0.1:1024/hook',
      'http://127.0.0.1:65535/hook',
    ]) {
      expect((await create('alice', 'port-ok', url)).status, url).toBe(201)
      expect((await as('alice')('DELETE', '/v1/subscriptions/port-ok')).status).toBe(204)
    }
  })

  it('refuses a port the policy does not allow at delivery time too, without connecting', async () => {
    const r = await receiver()
    const outcome = await deliver({
      url: r.url,
      body: '{}',
      headers: {},
      timeoutMs: 1_000,
      policy: parseAllowlist(['127.0.0.1'], false, parsePorts('443')),
    })
    expect(outcome).toMatchObject({ kind: 'refused', error: expect.stringContaining(`port ${r.port}`) })
    expect(r.connections).toBe(0)
  })
})

/** Strings that would tell a tenant something about the network behind the bridge. */
const LEAKS = [/\d+\.\d+\.\d+\.\d+/, /::/, /localhost/i, /E[A-Z]{4,}/, /resolve/i, /refused:/, /getaddrinfo/i]

const lastError = async (api: Api, name: string) =>
  eventually(async () => {
    const res = await api('GET', `/v1/subscriptions/${name}`)
    return res.json.last_error ?? undefined
  })

describe('last_error is coarse; the details go to the bridge log', () => {
  it('HTTP status, connection failure (refused or unresolvable) and timeout, with no address, host or errno', async () => {
    const failing = await receiver()
    failing.reply = () => ({ status: 500 })
    const silent = await receiver()
    silent.reply = () => new Promise(() => {})
    const closed = await receiver()
    const closedUrl = closed.url
    await closed.close()
    const pacing = { max_deliver: 2, backoff: { initial_ms: 1_000, max_ms: 1_000 } }
    // Two tenants, within the per-principal limit.
    const owners = {
      'http-500': 'alice',
      'closed-port': 'alice',
      'no-such-host': 'bob',
      silent: 'bob',
    } as const
    for (const [name, url] of [
      ['http-500', failing.url],
      ['closed-port', closedUrl],
      ['no-such-host', 'http://no-such-host.invalid:8080/hook'],
      ['silent', silent.url],
    ] as const) {
      const res = await create(owners[name], name, url, { ...pacing })
      expect(res.status, JSON.stringify(res.json)).toBe(201)
    }
    await publishEvents(nc.jetstream(), 'entity.updated', 1)

    const seen: Record<string, string> = {}
    for (const [name, owner] of Object.entries(owners)) {
      const error = await lastError(as(owner), name)
      seen[name] = error.message
      for (const leak of LEAKS) expect(error.message, `${name}: ${error.message}`).not.toMatch(leak)
    }
    expect(seen).toEqual({
      'http-500': 'HTTP 500',
      'closed-port': 'connection failed',
      'no-such-host': 'connection failed',
      silent: 'timed out',
    })
    // The operator finds the cause in the log of the replica that delivered.
    const logs = replicas.map((b) => b.output()).join('\n')
    expect(logs).toMatch(/ECONNREFUSED/)
    expect(logs).toMatch(/cannot resolve no-such-host\.invalid/)
  })

  it('a target the policy refuses at delivery shows only "target refused by policy"', async () => {
    // A second system: one bridge creates with 127.0.0.1 allowlisted, a stricter one delivers.
    const other = await startNatsServer()
    cleanups.push(() => other.cleanup())
    const r = await receiver()
    const lenient = await startBridgeProcess({
      natsUrl: other.url,
      tokens: TOKENS,
      env: ENV,
      waitFor: 'ready',
    })
    const api = apiClient(lenient.url, TOKENS.alice.token)
    const pacing = { max_deliver: 2, backoff: { initial_ms: 1_000, max_ms: 1_000 } }
    for (const [name, url] of [
      ['by-name', `http://localhost:${r.port}/hook`],
      ['by-address', `http://127.0.0.1:${r.port}/hook`],
    ]) {
      const res = await api('POST', '/v1/subscriptions', {
        name,
        subject: 'library.entity.*',
        url,
        ...pacing,
      })
      expect(res.status, JSON.stringify(res.json)).toBe(201)
    }
    await lenient.stop()
    const strict = await startBridgeProcess({
      natsUrl: other.url,
      tokens: TOKENS,
      env: { ...ENV, WEBHOOK_ALLOWED_HOSTS: '' },
      waitFor: 'ready',
    })
    cleanups.push(() => strict.stop())
    const ncOther = await connect({ servers: other.url })
    cleanups.push(() => ncOther.close())
    await publishEvents(ncOther.jetstream(), 'entity.registered', 1)
    const strictApi = apiClient(strict.url, TOKENS.alice.token)
    for (const name of ['by-name', 'by-address']) {
      const error = await lastError(strictApi, name)
      expect(error.message).toBe('target refused by policy')
    }
    expect(r.connections).toBe(0)
    expect(strict.output()).toMatch(/localhost resolves to/)
    for (const name of ['by-name', 'by-address'])
      expect((await strictApi('DELETE', `/v1/subscriptions/${name}`)).status).toBe(204)
  })
})

interface Detailed {
  nats: { state: string; reconnects: number }
  stream: { ready: boolean; info: { subjects: string[] } }
}

describe('anonymous /health/detailed', () => {
  it('a flood of 300 concurrent calls costs JetStream at most one request per refresh window', async () => {
    const bridge = replicas[0]
    const apiRequests: string[] = []
    const wiretap = nc.subscribe('$JS.API.>', { callback: (_err, msg) => apiRequests.push(msg.subject) })
    cleanups.push(async () => wiretap.unsubscribe())
    await nc.flush()
    const started = Date.now()
    const answers = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const res = await fetch(`${bridge.url}/health/detailed`)
        return { status: res.status, body: (await res.json()) as Detailed }
      }),
    )
    const elapsed = Date.now() - started
    await nc.flush()
    expect(answers.every((a) => a.status === 200)).toBe(true)
    for (const { body } of answers) {
      expect(body.nats).toMatchObject({ state: 'connected', reconnects: 0 })
      expect(body.stream).toMatchObject({ ready: true })
      expect(body.stream.info.subjects).toContain('library.entity.registered')
    }
    // One request per 2 s window at most, one at a time.
    const windows = Math.ceil(elapsed / 2_000) + 1
    const seen = `${apiRequests.length} requests: ${[...new Set(apiRequests)].join(', ')}`
    expect(apiRequests.length, seen).toBeGreaterThan(0)
    expect(apiRequests.length, seen).toBeLessThanOrEqual(windows)
    expect(apiRequests.every((s) => s === '$JS.API.STREAM.INFO.LIBRARY_EVENTS')).toBe(true)
  })

  it('a caller with a bridge token gets the stream as it is after its own publish', async () => {
    const bridge = replicas[0]
    // An anonymous call first, so that a snapshot from before the publish exists.
    const before = await fetch(`${bridge.url}/health/detailed`)
    expect(before.status).toBe(200)
    const event = makeEvent('entity.validated', 0)
    const ack = await nc.jetstream().publish('library.entity.validated', JSON.stringify(event), {
      msgID: event.event_id,
    })
    const fresh = await fetch(`${bridge.url}/health/detailed`, {
      headers: { authorization: `Bearer ${TOKENS.bob.token}` },
    })
    const body = (await fresh.json()) as { stream: { info: { last_seq: number } } }
    expect(body.stream.info.last_seq).toBe(ack.seq)
  })
})
