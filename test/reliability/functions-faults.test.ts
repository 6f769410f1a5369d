import fc from 'fast-check'
import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subjectMatches } from '../../shared/subject-validation'
import { webhookHeaders } from '../../shared/webhook-signing'
import { startWiretap } from '../bridge/support/bridge-client'
import {
  api,
  type FunctionsStack,
  fireCron,
  newEntity,
  pendingOutbox,
  SECRETS,
  startFunctionsStack,
} from './support/functions-stack'
import { anyText, contentTypes, hostileBody, hostileJsonText, mutated, noHang } from './support/hostile'
import { runLoad, sleep, waitFor, waitForOk } from './support/load'
import { report, SOAK, scaled, tally } from './support/report'
import { streamEvents } from './support/stream'

const ENTITIES = scaled(2_000, 10_000)
/** The bridge scenario repeats the same checks; its short form needs fewer entities to show them. */
const BRIDGE_ENTITIES = scaled(500, 10_000)
const CONCURRENCY = 16
const OUTAGE_MS = 3_000

let stack: FunctionsStack

beforeAll(async () => {
  stack = await startFunctionsStack()
}, 180_000)

afterAll(async () => {
  await stack?.cleanup()
}, 60_000)

const createEntities = (total: number, prefix: string, onProgress: (sent: number) => void) =>
  runLoad({
    total,
    concurrency: CONCURRENCY,
    onProgress,
    send: async () => {
      const res = await api(stack, 'POST', '/api/v1/entities', newEntity(prefix))
      return res.status === 201
        ? { ok: true, value: String(res.body?.id) }
        : { ok: false, status: res.status }
    },
  })

/** Fires the Cron Trigger until no event of this scenario is left undelivered; returns how long it took. */
const drain = async (prefix?: string) => {
  const started = Date.now()
  await waitFor(
    async () => {
      await fireCron(stack)
      return (await pendingOutbox(stack.sql, prefix)) === 0 ? true : undefined
    },
    `the outbox of ${prefix ?? 'every entity'} to drain`,
    180_000,
    500,
  )
  return Date.now() - started
}

/**
 * Runs the load with `fault` started once a quarter of it is sent, drains the outbox, and checks
 * that every committed entity has exactly one entity.registered in the stream.
 */
const underFault = async (scenario: string, total: number, prefix: string, fault: () => Promise<number>) => {
  let faultRun: Promise<number> | undefined
  const load = await createEntities(total, prefix, (sent) => {
    if (!faultRun && sent >= total / 4) faultRun = fault()
  })
  const recoveryMs = await (faultRun ?? fault())
  const drainMs = await drain(prefix)

  const committed = (
    await stack.sql<{ id: string }[]>`select id::text as id from entities where name like ${`${prefix}-%`}`
  ).map((r) => r.id)
  const registered = (await streamEvents(stack.nats.url)).filter(
    (m) => m.event.event_type === 'entity.registered' && committed.includes(m.event.entity_id ?? ''),
  )
  const perEntity = new Map<string, number>()
  for (const m of registered) perEntity.set(m.event.entity_id!, (perEntity.get(m.event.entity_id!) ?? 0) + 1)
  const byEventId = tally(
    [],
    registered.map((m) => m.event.event_id),
  )
  const lostEntities = load.acked.filter((id) => !perEntity.has(id))
  const figures = report({
    scenario,
    sent: load.sent,
    acked: load.acked.length,
    received: byEventId.received,
    lost: lostEntities.length,
    duplicated: byEventId.duplicated,
    recovery_ms: recoveryMs,
    notes: {
      committed: committed.length,
      drain_ms: drainMs,
      refused: [...load.failures.values()].reduce((a, b) => a + b, 0),
      refused_by_status: [...load.failures].map(([status, n]) => `${status}x${n}`).join(',') || 'none',
    },
  })
  // an overloaded database may refuse a request (503, nothing written); nothing else may fail
  expect([...load.failures.keys()].filter((status) => status !== 503)).toEqual([])
  expect(load.acked.length + (load.failures.get(503) ?? 0)).toBe(total)
  const committedSet = new Set(committed)
  expect(load.acked.filter((id) => !committedSet.has(id))).toEqual([])
  expect(figures.lost).toBe(0)
  expect(figures.duplicated).toBe(0)
  expect([...perEntity.values()].every((n) => n === 1)).toBe(true)
  expect(perEntity.size).toBe(committed.length)
  expect(registered.every((m) => m.msgId === m.event.event_id)).toBe(true)
  expect(await pendingOutbox(stack.sql)).toBe(0)
}

describe('outbox under faults', () => {
  it(
    `NATS killed (-9) mid-stream: ${ENTITIES} entities, every committed one has exactly one event`,
    async () => {
      await underFault('1 nats kill -9', ENTITIES, 'nats-kill', async () => {
        await stack.nats.kill()
        await sleep(OUTAGE_MS)
        const restarted = Date.now()
        await stack.nats.restart()
        await waitForOk(`${stack.bridge.url}/ready`)
        return Date.now() - restarted
      })
    },
    SOAK ? 900_000 : 180_000,
  )

  it(
    `bridge killed (-9) mid-stream: ${BRIDGE_ENTITIES} entities, backlog drains to 0`,
    async () => {
      await underFault('2 bridge kill -9', BRIDGE_ENTITIES, 'bridge-kill', async () => {
        await stack.bridge.kill()
        await sleep(OUTAGE_MS)
        const restarted = Date.now()
        await stack.bridge.restart()
        await waitForOk(`${stack.bridge.url}/ready`)
        return Date.now() - restarted
      })
    },
    SOAK ? 900_000 : 180_000,
  )
})

describe('database down for the functions', () => {
  it('answers 503 database_unavailable in JSON, writes nothing, and serves again once it is back', async () => {
    const counts = async () => {
      const [row] = await stack.sql<{ entities: number; outbox: number }[]>`
        select (select count(*)::int from entities) as entities, (select count(*)::int from outbox) as outbox`
      return row!
    }
    const before = await counts()
    await stack.stopDatabasePath()
    const calls = [
      () => api(stack, 'POST', '/api/v1/entities', newEntity('db-down')),
      () => api(stack, 'GET', '/api/v1/entities'),
      () => api(stack, 'POST', '/api/v1/deployments', { entity_id: crypto.randomUUID(), environment: 'dev' }),
    ]
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => calls[i % calls.length]!()))
    const slowestMs = Date.now() - started
    for (const res of answers) {
      expect(res.status, res.text).toBe(503)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.body).toMatchObject({
        error: { code: 'database_unavailable', message: expect.any(String), request_id: expect.any(String) },
      })
      expect(res.text).not.toMatch(/at \w+ \(|postgres:\/\/|\.ts:\d+/)
    }
    const health = await api(stack, 'GET', '/health/detailed')
    expect(health.body).toMatchObject({ status: 'degraded', database: { status: 'down' } })

    const restarted = Date.now()
    await stack.startDatabasePath()
    const created = await waitFor(async () => {
      const res = await api(stack, 'POST', '/api/v1/entities', newEntity('db-back'))
      return res.status === 201 ? res : undefined
    }, 'the functions to serve again')
    const recoveryMs = Date.now() - restarted
    const after = await counts()
    expect(after).toEqual({ entities: before.entities + 1, outbox: before.outbox + 1 })
    report({
      scenario: '5 database down',
      sent: answers.length + 1,
      acked: 1,
      received: after.entities - before.entities,
      lost: 0,
      duplicated: 0,
      recovery_ms: recoveryMs,
      notes: { refused_503: answers.length, slowest_refusal_ms: slowestMs, partial_writes: 0 },
    })
    expect(created.body?.id).toEqual(expect.any(String))
  })
})

const RUNS = scaled(1_000, 10_000)

/** The `name` of an entity body, when the body is a JSON object with one. */
const entityName = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body)
    if (parsed && typeof parsed === 'object' && 'name' in parsed && typeof parsed.name === 'string')
      return parsed.name
  } catch {
    // not JSON
  }
  return undefined
}
/** The functions publish through a token scoped to library.>; nothing else may reach the wire. */
const ALLOWED_ON_WIRE = ['library.>', '_INBOX.>', '$JS.>']

describe('hostile input against the functions (wrangler dev, real bridge and NATS, wiretap on >)', () => {
  it(
    `${RUNS} random entity bodies and ${RUNS} random webhooks: never a 5xx, never a hang, nothing out of scope`,
    async () => {
      const nc = await connect({ servers: stack.nats.url, name: 'functions-wiretap' })
      const wiretap = await startWiretap(nc)
      let sent = 0
      const created: string[] = []
      /** Every entity request of this scenario whose body names an entity: name → what it got. */
      const entityRequests = new Map<string, { status: number; body: string; answer: string }>()
      const post = async (path: string, body: string, headers: Record<string, string>) => {
        sent++
        const res = await noHang(
          fetch(`${stack.functionsUrl}${path}`, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(30_000),
          }),
        )
        const text = await res.text()
        if (path === '/api/v1/entities') {
          const name = entityName(body)
          if (name !== undefined)
            entityRequests.set(name, {
              status: res.status,
              body: `${headers['content-type'] ?? '(no content-type)'} ${body.slice(0, 300)}`,
              answer: text.slice(0, 300),
            })
        }
        expect(res.status >= 500, `${path} ${res.status} ${text.slice(0, 300)}`).toBe(false)
        expect(res.headers.get('content-type'), text.slice(0, 200)).toMatch(/^application\/json/)
        if (path === '/api/v1/entities' && res.status === 201)
          created.push((JSON.parse(text) as { id: string }).id)
        return res.status
      }
      try {
        const entityBody = fc.oneof(
          hostileBody,
          mutated(fc.constant(null).map(() => newEntity('hostile'))).map((e) => JSON.stringify(e)),
        )
        const entities = fc.assert(
          fc.asyncProperty(entityBody, contentTypes, async (body, contentType) => {
            const headers: Record<string, string> = { authorization: `Bearer ${SECRETS.apiKey}` }
            if (contentType) headers['content-type'] = contentType
            await post('/api/v1/entities', body, headers)
          }),
          { numRuns: RUNS },
        )

        const source = fc.oneof(fc.constant('monitor'), fc.stringMatching(/^[a-z0-9_-]{1,12}$/))
        const webhookBody = fc.oneof(
          hostileJsonText,
          fc
            .record({
              type: fc.oneof(fc.constantFrom('health.degraded', 'performance.threshold_exceeded'), anyText),
              data: fc.jsonValue({ maxDepth: 3 }),
            })
            .map((p) => JSON.stringify(p)),
        )
        const webhooks = fc.assert(
          fc.asyncProperty(source, webhookBody, fc.boolean(), async (src, body, sign) => {
            const signed = sign
              ? await webhookHeaders({
                  secret: SECRETS.webhookSecret,
                  id: `msg_${crypto.randomUUID()}`,
                  body,
                })
              : { 'webhook-id': 'msg_x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }
            await post(`/webhooks/${src}`, body, { 'content-type': 'application/json', ...signed })
          }),
          { numRuns: RUNS },
        )
        // the two properties run side by side
        await Promise.all([entities, webhooks])
        await drain()
      } finally {
        await wiretap.stop()
        await nc.close()
      }
      const subjects = wiretap.subjects()
      const outside = [...new Set(subjects.filter((s) => !ALLOWED_ON_WIRE.some((p) => subjectMatches(p, s))))]
      // only this scenario's entities: an earlier scenario's event (e.g. the entity created once the
      // database is back) may still reach the bus after its response, while the wiretap listens
      const registered = wiretap.seen
        .filter((m) => m.subject === 'library.entity.registered')
        .map(
          (m) => JSON.parse(new TextDecoder().decode(m.data)) as { entity_id: string; entity_name: string },
        )
        .filter((event) => entityRequests.has(event.entity_name))
        .map((event) => event.entity_id)
      const figures = tally(created, registered)
      // an entity on the bus that no 201 announced: which request made it, and what it was answered
      const createdSet = new Set(created)
      const unacked = [...new Set(registered.filter((id) => !createdSet.has(id)))]
      const unackedRows = unacked.length
        ? await stack.sql<{ id: string; name: string; created_at: Date }[]>`
            select id::text as id, name, created_at from entities where id = any(${unacked}::uuid[])`
        : []
      const traced = unacked.map((id) => {
        const row = unackedRows.find((r) => r.id === id)
        const request = row ? entityRequests.get(row.name) : undefined
        return {
          entity_id: id,
          name: row?.name ?? '(no row)',
          created_at: row?.created_at,
          request: request ?? '(not a request of this scenario)',
        }
      })
      report({
        scenario: '6 hostile input (functions)',
        sent,
        acked: created.length,
        received: figures.received,
        lost: figures.lost,
        duplicated: figures.duplicated,
        recovery_ms: null,
        notes: {
          runs_per_property: RUNS,
          properties: 2,
          wire_messages: subjects.length,
          outside_scope: outside.length,
          unacked_received: unacked.length,
        },
      })
      expect(outside).toEqual([])
      // what the functions accepted reached the bus, through the same outbox
      expect(figures.missing).toEqual([])
      // and nothing else did: no request committed an entity and was answered otherwise
      expect(traced).toEqual([])
      expect(figures.received).toBe(created.length)
    },
    SOAK ? 1_800_000 : 300_000,
  )
})

const ID = '00000000-0000-4000-8000-000000000000'
const FUNCTION_ROUTES = [
  ['POST', '/api/v1/entities'],
  ['GET', '/api/v1/entities'],
  ['GET', `/api/v1/entities/${ID}`],
  ['PATCH', `/api/v1/entities/${ID}`],
  ['DELETE', `/api/v1/entities/${ID}`],
  ['POST', `/api/v1/entities/${ID}/validate`],
  ['POST', '/api/v1/deployments'],
  ['GET', '/api/v1/deployments'],
  ['GET', `/api/v1/deployments/${ID}`],
  ['POST', `/api/v1/deployments/${ID}/complete`],
  ['POST', `/api/v1/deployments/${ID}/fail`],
  ['POST', `/api/v1/deployments/${ID}/rollback`],
  ['POST', '/api/v1/swaps'],
  ['GET', '/api/v1/swaps'],
  ['GET', `/api/v1/swaps/${ID}`],
  ['POST', `/api/v1/swaps/${ID}/rollback`],
] as const
const WRONG_KEYS = ['reliability-wrong-key-0f1e2d3c4b', `${SECRETS.apiKey}x`]

describe('auth on every functions /api/v1 route, and no secret in any log', () => {
  it('401 without, with a malformed or a wrong key; 403 for a read-only key on writes; logs hold no secret', async () => {
    let calls = 0
    for (const [method, path] of FUNCTION_ROUTES) {
      for (const authorization of [
        undefined,
        'Bearer',
        `Basic ${SECRETS.apiKey}`,
        ...WRONG_KEYS.map((k) => `Bearer ${k}`),
      ]) {
        calls++
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (authorization) headers.authorization = authorization
        const res = await fetch(`${stack.functionsUrl}${path}`, {
          method,
          headers,
          body: method === 'GET' ? undefined : '{}',
        })
        const body = (await res.json()) as { error: { code: string } }
        expect({ method, path, authorization, status: res.status, code: body.error.code }).toEqual({
          method,
          path,
          authorization,
          status: 401,
          code: 'unauthorized',
        })
      }
      if (method !== 'GET') {
        calls++
        const res = await api(stack, method, path, {}, { authorization: `Bearer ${SECRETS.readerKey}` })
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 })
      }
    }
    const logs = `${await stack.functionsLog()}\n${stack.bridge.output()}`
    const secrets = [
      SECRETS.apiKey,
      SECRETS.readerKey,
      SECRETS.bridgeToken,
      SECRETS.adminToken,
      SECRETS.webhookSecret,
      SECRETS.webhookSecret.slice('whsec_'.length),
      ...WRONG_KEYS,
    ]
    const found = secrets.filter((s) => logs.includes(s))
    report({
      scenario: '10 auth and secrets (functions)',
      sent: calls,
      acked: 0,
      received: 0,
      lost: 0,
      duplicated: 0,
      recovery_ms: null,
      notes: {
        routes: FUNCTION_ROUTES.length,
        refused: calls,
        log_bytes: logs.length,
        secrets_in_logs: found.length,
      },
    })
    // the refused calls are in the log, so the search below looks at what they left behind
    expect(logs).toContain('/api/v1/swaps')
    expect(found).toEqual([])
  })
})

type Part = 'bridge' | 'database' | 'nats'
const ORDERS: Part[][] = scaled(
  [
    ['bridge', 'database', 'nats'],
    ['nats', 'bridge', 'database'],
  ],
  [
    ['bridge', 'database', 'nats'],
    ['bridge', 'nats', 'database'],
    ['database', 'bridge', 'nats'],
    ['database', 'nats', 'bridge'],
    ['nats', 'bridge', 'database'],
    ['nats', 'database', 'bridge'],
  ],
)

interface Truth {
  bridgeReady: number
  bridgeNats: string | null
  functions: { status: string; database: string; bridge: string; nats: string }
}

const observe = async (): Promise<Truth> => {
  const ready = await fetch(`${stack.bridge.url}/ready`).catch(() => undefined)
  await ready?.arrayBuffer()
  const detailed = await fetch(`${stack.bridge.url}/health/detailed`)
    .then((r) => r.json() as Promise<{ nats: { state: string } }>)
    .catch(() => undefined)
  const fn = (await api(stack, 'GET', '/health/detailed')).body as {
    status: string
    database: { status: string }
    bridge: { status: string }
    nats: { status: string }
  }
  return {
    bridgeReady: ready?.status ?? 0,
    bridgeNats: detailed?.nats.state ?? null,
    functions: {
      status: fn.status,
      database: fn.database.status,
      bridge: fn.bridge.status,
      nats: fn.nats.status,
    },
  }
}

/** What /ready and both /health/detailed must say with these parts up. */
const expectedTruth = (up: Set<Part>): Truth => {
  const ready = up.has('bridge') && up.has('nats')
  return {
    bridgeReady: up.has('bridge') ? (ready ? 200 : 503) : 0,
    bridgeNats: up.has('bridge') ? (up.has('nats') ? 'connected' : 'disconnected') : null,
    functions: {
      status: ready && up.has('database') ? 'ok' : 'degraded',
      database: up.has('database') ? 'ok' : 'down',
      bridge: up.has('bridge') ? (ready ? 'ready' : 'not_ready') : 'unreachable',
      nats: up.has('bridge') ? (up.has('nats') ? 'connected' : 'disconnected') : 'unknown',
    },
  }
}

describe('cold start in any order', () => {
  for (const order of ORDERS) {
    it(`starts ${order.join(' → ')} (functions up throughout): ready without restarts, health tells the truth at every step`, async () => {
      await stack.bridge.stop()
      await stack.nats.kill()
      await stack.stopDatabasePath()
      const up = new Set<Part>()
      const truths: string[] = []
      const check = async () => {
        const expected = expectedTruth(up)
        const seen = await waitFor(
          async () => {
            const truth = await observe()
            return JSON.stringify(truth) === JSON.stringify(expected) ? truth : undefined
          },
          `health with ${[...up].join(', ') || 'nothing'} up to read ${JSON.stringify(expected)} (last: ${JSON.stringify(await observe())})`,
          30_000,
          200,
        )
        truths.push(`${[...up].join('+') || 'none'}: ${seen.functions.status}`)
      }
      await check()
      const created: string[] = []
      let sent = 0
      const started = Date.now()
      let bridgePid: number | undefined
      for (const part of order) {
        if (part === 'bridge') {
          await stack.startBridge()
          bridgePid = stack.bridge.pid
        }
        if (part === 'database') await stack.startDatabasePath()
        if (part === 'nats') await stack.nats.restart()
        up.add(part)
        await check()
        sent++
        const res = await api(stack, 'POST', '/api/v1/entities', newEntity('cold'))
        expect(res.status, res.text).toBe(up.has('database') ? 201 : 503)
        if (res.status === 201) created.push(String(res.body?.id))
        if (res.status === 201 && !(up.has('bridge') && up.has('nats'))) {
          // the delivery failed: the first retry is due within the initial backoff (5 s), not twice that
          const [row] = await waitFor(async () => {
            const rows = await stack.sql<{ attempts: number; due_in_ms: number }[]>`
              select attempts, (extract(epoch from next_attempt_at - now()) * 1000)::float8 as due_in_ms
                from outbox where entity_key = ${String(res.body?.id)} and last_error is not null`
            return rows.length > 0 ? rows : undefined
          }, 'the failed delivery to be recorded')
          expect(row!.attempts).toBe(1)
          expect(row!.due_in_ms).toBeLessThanOrEqual(5_000)
        }
      }
      const recoveryMs = Date.now() - started
      expect(stack.bridge.pid).toBe(bridgePid)
      await drain('cold')
      const inStream = (await streamEvents(stack.nats.url)).filter(
        (m) => m.event.event_type === 'entity.registered' && created.includes(m.event.entity_id ?? ''),
      )
      const figures = tally(
        created,
        inStream.map((m) => m.event.entity_id ?? ''),
      )
      report({
        scenario: `4 cold start ${order.join('→')}`,
        sent,
        acked: created.length,
        received: figures.received,
        lost: figures.lost,
        duplicated: figures.duplicated,
        recovery_ms: recoveryMs,
        notes: { steps: truths.length },
      })
      expect(figures.missing).toEqual([])
      expect(figures.duplicated).toBe(0)
    })
  }
})
