import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type Msg, type NatsConnection } from 'nats'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LibraryEvent } from '../../shared/events'
import { subjectMatches } from '../../shared/subject-validation'
import { STREAM_NAME, STREAM_SUBJECTS } from '../../shared/subjects'
import { entityRegistered, startWiretap } from '../bridge/support/bridge-client'
import { SseTestClient } from '../bridge/support/sse-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'

/** Every body sent by a refused call carries this marker; the wiretap must never see it. */
const HOSTILE = `hostile-${randomUUID()}`
/** What the test itself publishes on reserved subjects, playing the system. */
const SYSTEM = `system-${randomUUID()}`
const FORWARD_TOKEN = 'security-forward-token-0123456789'

const TOKENS = {
  admin: {
    token: 'sec-admin-token-0123456789abcdef',
    publish: ['>'],
    request: ['>'],
    subscribe: ['>'],
    admin: true,
  },
  ro: { token: 'sec-ro-token-0123456789abcdef', subscribe: ['library.>'] },
  mon: { token: 'sec-mon-token-0123456789abcdef', subscribe: ['>'] },
  rq: { token: 'sec-rq-token-0123456789abcdef', request: ['library.>', 'library_dlq_replay.*'] },
  obs: {
    token: 'sec-obs-token-0123456789abcdef',
    subscribe: ['library.>', 'ops.>'],
    observe: ['library.swap.*'],
  },
  obs2: { token: 'sec-obs2-token-0123456789abcdef', subscribe: ['ops.>'] },
  team: { token: 'sec-team-token-0123456789abcdef', subscribe: ['ops.>'] },
  'team.ops': { token: 'sec-team-ops-token-0123456789abcdef', subscribe: ['ops.>'] },
}
type TokenName = keyof typeof TOKENS

let nats: NatsServerHandle
let bridge: BridgeProcess
let nc: NatsConnection
let tapConnection: NatsConnection
let tap: Awaited<ReturnType<typeof startWiretap>>
let target: Server
const echoed: Msg[] = []
let validateHits = 0

const auth = (name: TokenName) => ({ authorization: `Bearer ${TOKENS[name].token}` })

const subscribeUrl = (subject: string, query: Record<string, string> = {}) =>
  `${bridge.url}/v1/subscribe?${new URLSearchParams({ subject, ...query })}`

/** A subscription that must be refused: the status and error body, the stream closed. */
const refusedSubscribe = async (name: TokenName, rawQuery: string) => {
  const res = await fetch(`${bridge.url}/v1/subscribe?${rawQuery}`, { headers: auth(name) })
  const body = (await res.json()) as { error: { code: string; details?: { reason?: string } } }
  return { status: res.status, code: body.error.code, reason: body.error.details?.reason }
}

const relay = async (
  name: TokenName,
  rawSubject: string,
  body: string,
  headers: Record<string, string> = {},
  query = '',
) => {
  const res = await fetch(`${bridge.url}/v1/request/${rawSubject}${query}`, {
    method: 'POST',
    headers: { ...auth(name), 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await res.text()
  let json: { error?: { code: string; details?: unknown } } = {}
  try {
    json = JSON.parse(text)
  } catch {
    // a relayed reply need not be JSON
  }
  return { status: res.status, code: json.error?.code, details: json.error?.details, text }
}

const postEventsText = async (text: string, name: TokenName = 'admin') => {
  const res = await fetch(`${bridge.url}/v1/events`, {
    method: 'POST',
    headers: { ...auth(name), 'content-type': 'application/json' },
    body: text,
  })
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: string; details?: unknown }; results?: unknown[] },
  }
}

const streamMessages = async () =>
  (await (await nc.jetstreamManager()).streams.info(STREAM_NAME)).state.messages

/** `[` × n then `]` × n: an array nesting n levels, built as text (JSON.stringify would recurse). */
const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`

/** An event whose `field` holds `{"deep": <n-level array>}`, i.e. nests n + 1 levels. */
const eventWithDeep = (field: 'data' | 'metadata', n: number, marker = HOSTILE) => {
  const event = entityRegistered() as unknown as Record<string, Record<string, unknown>>
  event[field] = { ...event[field], deep: '__DEEP__', marker }
  return JSON.stringify(event).replace('"__DEEP__"', deepArray(n))
}

beforeAll(async () => {
  nats = await startNatsServer()
  target = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      validateHits++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ valid: true }))
    })
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    tokens: TOKENS,
    waitFor: 'ready',
    env: {
      STREAM_STORAGE: 'memory',
      FORWARD_TOKEN,
      FORWARD_ROUTES: JSON.stringify([{ subject: 'library.swap.validate', url: `${targetUrl}/validate` }]),
    },
  })
  nc = await connect({ servers: nats.url, name: 'security-system' })
  // a swap executor answering in its queue group, and an echo service for relayed requests
  nc.subscribe('library.swap.command', {
    queue: 'library-swap-executor',
    callback: (_err, m) => m.respond(JSON.stringify({ success: true })),
  })
  nc.subscribe('ops.echo', {
    callback: (_err, m) => {
      echoed.push(m)
      m.respond(m.data)
    },
  })
  await nc.flush()
  tapConnection = await connect({ servers: nats.url, name: 'security-wiretap' })
  tap = await startWiretap(tapConnection)
}, 90_000)

afterAll(async () => {
  await tapConnection?.close()
  await nc?.close()
  await bridge?.stop()
  await new Promise((resolve) => target?.close(resolve))
  await nats?.cleanup()
})

/** Spellings of reserved subjects; each is refused whatever the token's patterns say. */
const RESERVED_LITERALS = [
  '_INBOX.abc',
  '_inbox.abc',
  '_Inbox.abc.def',
  '_INBOX',
  '_R_.abc',
  '$JS.API.STREAM.INFO.LIBRARY_EVENTS',
  '$JS.API.CONSUMER.CREATE.LIBRARY_EVENTS',
  '$KV.library_subscriptions.hook',
  '$SYS.REQ.SERVER.PING',
  '$SRV.PING',
  '$O.bucket.chunk',
  '$G.x',
  'library._INBOX.abc',
  'a._inbox.b',
  'library_dlq.hook',
  'library_dlq_replay.hook',
  'LIBRARY_DLQ_REPLAY.hook',
]
const RESERVED_PATTERNS = [
  '_INBOX.>',
  '_INBOX.*',
  '_inbox.>',
  '$JS.>',
  '$KV.>',
  '$SYS.>',
  'library_dlq.>',
  '*._INBOX.>',
]
/** The same subjects as a client could write them in the URL. */
const PERCENT_ENCODED_PATHS = [
  '%5FINBOX.abc',
  '%5finbox.abc',
  '_INBOX%2Eabc',
  '%24JS.API.INFO',
  '%24KV.library_subscriptions.x',
]

describe('reserved subjects', () => {
  it('GET /v1/subscribe: reserved subjects and patterns are 403 reserved_subject even for a `>` token', async () => {
    for (const subject of [...RESERVED_LITERALS, ...RESERVED_PATTERNS]) {
      for (const name of ['mon', 'admin'] as const) {
        const refused = await refusedSubscribe(name, new URLSearchParams({ subject }).toString())
        expect({ subject, name, ...refused }).toMatchObject({ status: 403, code: 'reserved_subject' })
      }
    }
  })

  it('GET /v1/subscribe: percent-encoded spellings are refused the same way', async () => {
    for (const raw of [
      'subject=%5FINBOX.%3E',
      'subject=%5finbox.abc',
      'subject=%24KV.%3E',
      'subject=_INBOX%2E%3E',
    ]) {
      expect({ raw, ...(await refusedSubscribe('mon', raw)) }).toMatchObject({
        status: 403,
        code: 'reserved_subject',
      })
    }
    // encoded twice, the `%` stays and the subject is malformed: 400, never NATS
    expect(await refusedSubscribe('mon', 'subject=%255FINBOX.%253E')).toMatchObject({ status: 400 })
  })

  it('POST /v1/request: reserved subjects are 403 reserved_subject even for a `>` request scope', async () => {
    for (const subject of RESERVED_LITERALS) {
      for (const name of ['admin', 'rq'] as const) {
        const res = await relay(name, encodeURIComponent(subject), JSON.stringify({ marker: HOSTILE }))
        expect({ subject, name, status: res.status, code: res.code }).toEqual({
          subject,
          name,
          status: 403,
          code: 'reserved_subject',
        })
      }
    }
    for (const raw of PERCENT_ENCODED_PATHS) {
      const res = await relay('admin', raw, JSON.stringify({ marker: HOSTILE }))
      expect({ raw, status: res.status, code: res.code }).toEqual({
        raw,
        status: 403,
        code: 'reserved_subject',
      })
    }
    const twice = await relay('admin', '%255FINBOX.abc', JSON.stringify({ marker: HOSTILE }))
    expect(twice).toMatchObject({ status: 400, code: 'invalid_subject' })
  })

  it('rq cannot feed a webhook replay queue: library_dlq_replay.<name> is reserved despite its scope', async () => {
    const res = await relay('rq', 'library_dlq_replay.audit-hook', JSON.stringify({ forged: HOSTILE }))
    expect(res).toMatchObject({ status: 403, code: 'reserved_subject', details: { reason: 'dead_letter' } })
  })

  it('POST /v1/events: subjects come from event_type only, so no reserved subject is reachable', async () => {
    for (const eventType of ['_INBOX.x', '$JS.API.x', 'dlq_replay.x']) {
      const event = { ...entityRegistered(), event_type: eventType, marker: HOSTILE }
      const res = await postEventsText(JSON.stringify(event))
      expect({ eventType, status: res.status }).toEqual({ eventType, status: 400 })
    }
  })

  it('a core wildcard that overlaps reserved space delivers none of it (mon on `*.*`)', async () => {
    const sse = await SseTestClient.open(subscribeUrl('*.*'), auth('mon'))
    try {
      expect(sse.status).toBe(200)
      for (const subject of [
        '_INBOX.leak',
        '_inbox.leak',
        '_R_.leak',
        'library_dlq.leak',
        'library_dlq_replay.leak',
      ])
        nc.publish(subject, SYSTEM)
      nc.publish('ops.sentinel', 'sentinel')
      await nc.flush()
      await sse.until((c) => c.events.some((e) => e.data === 'sentinel'), 'the sentinel')
      expect(sse.events.filter((e) => e.data === SYSTEM)).toEqual([])
    } finally {
      sse.close()
    }
  })

  it('wildcards written inside a token (`_*`, `$*`, `_INBOX*`) are malformed: 400, never a subscription', async () => {
    for (const subject of ['_*', '$*', '_INBOX*', '_INBOX.>x', '*_INBOX.>']) {
      const refused = await refusedSubscribe('mon', new URLSearchParams({ subject }).toString())
      expect({ subject, status: refused.status }).toEqual({ subject, status: 400 })
    }
  })

  it.each(['>', '*.>'])(
    'mon on `%s` is served from the event stream only: inbox traffic and requests never show',
    async (pattern) => {
      const sse = await SseTestClient.open(subscribeUrl(pattern), auth('mon'))
      try {
        expect(sse.status).toBe(200)
        nc.publish('_INBOX.leak', 'inbox-traffic')
        const ok = await relay('admin', 'library.swap.validate', JSON.stringify({ legit: true }))
        expect(ok.status).toBe(200)
        const event = entityRegistered()
        expect((await postEventsText(JSON.stringify(event))).status).toBe(202)
        await sse.until((c) => c.events.some((e) => e.data.includes(event.event_id)), 'the event')
        expect(sse.events.map((e) => e.event)).toEqual(['entity.registered'])
      } finally {
        sse.close()
      }
    },
  )
})

describe('the relay and the event stream', () => {
  it('rq cannot write a forged event into LIBRARY_EVENTS through /v1/request (and neither can admin)', async () => {
    const before = await streamMessages()
    const forged = await fetch(`${bridge.url}/v1/request/library.entity.registered`, {
      method: 'POST',
      headers: { ...auth('rq'), 'content-type': 'text/plain', 'Nats-Msg-Id': 'forged-1' },
      body: `this is not an event <script> ${HOSTILE}`,
    })
    expect(forged.status).toBe(403)
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('stream_subject')
    for (const subject of STREAM_SUBJECTS) {
      const res = await relay('admin', subject, JSON.stringify({ marker: HOSTILE }))
      expect({ subject, status: res.status, code: res.code }).toEqual({
        subject,
        status: 403,
        code: 'stream_subject',
      })
    }
    expect(await streamMessages()).toBe(before)
  })

  it('client headers NATS or the bridge act on (Nats-*, Library-Event-Type) are never relayed', async () => {
    echoed.length = 0
    const res = await relay('admin', 'ops.echo', JSON.stringify({ legit: 'headers' }), {
      'Nats-Msg-Id': 'forged-1',
      'nats-expected-stream': STREAM_NAME,
      'NATS-Rollup': 'sub',
      'Nats-TTL': '1s',
      'Library-Event-Type': 'entity.registered',
      'X-Keep-Me': 'yes',
    })
    expect(res.status).toBe(200)
    const names = [...(echoed[0]?.headers?.keys() ?? [])]
    expect(names.filter((n) => /^nats-|^library-event-type$/i.test(n))).toEqual([])
    expect(echoed[0]?.headers?.get('X-Keep-Me')).toBe('yes')
  })
})

describe('queue groups and request subjects', () => {
  it('no token without observe may subscribe to a request subject, with or without a queue group', async () => {
    const cases: [TokenName, string][] = [
      ['ro', 'subject=library.swap.validate&queue=library-bridge'],
      ['ro', 'subject=library.swap.command&queue=library-swap-executor'],
      ['ro', 'subject=library.swap.validate'],
      ['mon', 'subject=library.swap.command'],
      ['mon', 'subject=library.swap.validate&queue=library-bridge'],
    ]
    for (const [name, query] of cases) {
      expect({ name, query, ...(await refusedSubscribe(name, query)) }).toMatchObject({
        status: 403,
        code: 'observe_required',
      })
    }
  })

  it('a core wildcard overlapping request subjects leaves the requests out unless the token may observe', async () => {
    const ro = await SseTestClient.open(subscribeUrl('library.*.command'), auth('ro'))
    const obs = await SseTestClient.open(subscribeUrl('library.*.command'), auth('obs'))
    try {
      expect([ro.status, obs.status]).toEqual([200, 200])
      const request = await relay('admin', 'library.swap.command', JSON.stringify({ legit: 'observed' }))
      expect(request.status).toBe(200)
      nc.publish('library.ops.command', 'other')
      nc.publish('library.zzz.command', 'sentinel')
      await nc.flush()
      for (const client of [ro, obs])
        await client.until((c) => c.events.some((e) => e.data === 'sentinel'), 'the sentinel')
      expect(ro.events.map((e) => e.event)).toEqual(['library.ops.command', 'library.zzz.command'])
      expect(obs.events.map((e) => e.event)).toEqual([
        'library.swap.command',
        'library.ops.command',
        'library.zzz.command',
      ])
    } finally {
      ro.close()
      obs.close()
    }
  })

  it('an observer naming the forward routes` queue group gets its own group: 20 of 20 validations answered', async () => {
    const hitsBefore = validateHits
    const streams = await Promise.all(
      Array.from({ length: 5 }, () =>
        SseTestClient.open(subscribeUrl('library.swap.validate', { queue: 'library-bridge' }), auth('obs')),
      ),
    )
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200])
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) {
        const res = await relay(
          'admin',
          'library.swap.validate',
          JSON.stringify({ legit: i }),
          {},
          '?timeout_ms=3000',
        )
        statuses.push(res.status)
      }
      expect(statuses).toEqual(Array(20).fill(200))
      expect(validateHits - hitsBefore).toBe(20)
      // the five streams share the observer's group: together they saw each request once
      await streams[0]!.until(() => streams.reduce((n, s) => n + s.events.length, 0) >= 20, '20 observed')
      expect(streams.reduce((n, s) => n + s.events.length, 0)).toBe(20)
    } finally {
      for (const s of streams) s.close()
    }
  })

  it('the same for the swap executors` group: 20 of 20 swap commands answered', async () => {
    const stream = await SseTestClient.open(
      subscribeUrl('library.swap.command', { queue: 'library-swap-executor' }),
      auth('obs'),
    )
    try {
      expect(stream.status).toBe(200)
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) {
        const res = await relay(
          'admin',
          'library.swap.command',
          JSON.stringify({ legit: i }),
          {},
          '?timeout_ms=3000',
        )
        statuses.push(res.status)
      }
      expect(statuses).toEqual(Array(20).fill(200))
      await stream.waitForEvents(20)
    } finally {
      stream.close()
    }
  })

  it('queue names are per principal: two principals naming the same group each get every message', async () => {
    const a = await SseTestClient.open(subscribeUrl('ops.jobs', { queue: 'workers' }), auth('obs'))
    const b = await SseTestClient.open(subscribeUrl('ops.jobs', { queue: 'workers' }), auth('obs2'))
    // obs2 writing obs's namespaced name lands in its own namespace again
    const c = await SseTestClient.open(subscribeUrl('ops.jobs', { queue: 'sse.obs.workers' }), auth('obs2'))
    // dots in token names: `team` + `ops.workers` is not `team.ops` + `workers`
    const d = await SseTestClient.open(subscribeUrl('ops.jobs', { queue: 'ops.workers' }), auth('team'))
    const e = await SseTestClient.open(subscribeUrl('ops.jobs', { queue: 'workers' }), auth('team.ops'))
    const clients = [a, b, c, d, e]
    try {
      for (let i = 0; i < 10; i++) nc.publish('ops.jobs', `job-${i}`)
      await nc.flush()
      for (const client of clients) await client.waitForEvents(10)
      for (const client of clients) expect(client.events).toHaveLength(10)
    } finally {
      for (const client of clients) client.close()
    }
  })
})

describe('JSON depth', () => {
  it('POST /v1/events: metadata nested 200,000 deep is a 400 naming the field, not a 500', async () => {
    const res = await postEventsText(eventWithDeep('metadata', 200_000))
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({
      code: 'json_too_deep',
      details: [{ path: 'metadata', message: 'nests deeper than 35 levels' }],
    })
  })

  // 32 for the input an event carries, plus the 3 levels an event puts around it (data.changes.config.to)
  it('POST /v1/events: data and metadata nest 35 levels, 36 are refused, in data and in a batch', async () => {
    expect((await postEventsText(eventWithDeep('metadata', 34, 'legit'))).status).toBe(202)
    const data = await postEventsText(eventWithDeep('data', 35))
    expect(data.body.error).toMatchObject({ code: 'json_too_deep', details: [{ path: 'data' }] })
    const batch = await postEventsText(
      `{"events":[${JSON.stringify(entityRegistered())},${eventWithDeep('metadata', 35)}]}`,
    )
    expect(batch.status).toBe(400)
    expect(batch.body.error).toMatchObject({
      code: 'json_too_deep',
      details: [{ path: 'events.1.metadata' }],
    })
  })

  it('POST /v1/request: a JSON body deeper than the limit is refused before NATS', async () => {
    echoed.length = 0
    for (const n of [33, 200_000]) {
      const res = await relay('admin', 'ops.echo', `{"marker":"${HOSTILE}","deep":${deepArray(n - 1)}}`)
      expect(res).toMatchObject({ status: 400, code: 'json_too_deep' })
    }
    const fine = await relay('admin', 'ops.echo', `{"legit":"depth","deep":${deepArray(31)}}`)
    expect(fine.status).toBe(200)
    expect(echoed).toHaveLength(1)
  })
})

describe('wiretap', () => {
  it('no principal reached a subject outside its own during the suite', async () => {
    await tap.stop()
    const text = (m: Msg) => new TextDecoder().decode(m.data)
    const headerValues = (m: Msg) => [...(m.headers ?? [])].flatMap(([, values]) => values)
    // nothing from a refused call reached NATS
    expect(
      tap.seen.filter((m) => text(m).includes(HOSTILE) || headerValues(m).some((h) => h.includes(HOSTILE))),
    ).toEqual([])
    // nothing reached the dead-letter and replay subjects (no webhook subscription exists here)
    expect(
      tap.seen.filter(
        (m) =>
          text(m) !== SYSTEM &&
          ['library_dlq.>', 'library_dlq_replay.>'].some((p) => subjectMatches(p, m.subject)),
      ),
    ).toEqual([])
    // every message on an event-stream subject is a valid event under its own Nats-Msg-Id
    const onStream = tap.seen.filter((m) => STREAM_SUBJECTS.includes(m.subject))
    expect(onStream.length).toBeGreaterThan(0)
    for (const m of onStream) {
      const parsed = v.safeParse(LibraryEvent, JSON.parse(text(m)))
      expect(parsed.success).toBe(true)
      expect(m.headers?.get('Nats-Msg-Id')).toBe(parsed.success ? parsed.output.event_id : 'invalid')
    }
    // relayed requests carry no header NATS acts on
    const relayed = tap.seen.filter(
      (m) =>
        !STREAM_SUBJECTS.includes(m.subject) &&
        ['ops.>', 'library.swap.*'].some((p) => subjectMatches(p, m.subject)),
    )
    expect(relayed.length).toBeGreaterThan(0)
    for (const m of relayed)
      expect([...(m.headers?.keys() ?? [])].filter((n) => /^nats-/i.test(n))).toEqual([])
  })
})
