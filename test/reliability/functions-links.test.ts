import { connect, DiscardPolicy } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import { entityRegistered } from '../bridge/support/bridge-client'
import {
  api,
  type FunctionsStack,
  fireCron,
  newEntity,
  pendingOutbox,
  SECRETS,
  startFunctionsStack,
} from './support/functions-stack'
import { sleep, waitFor } from './support/load'
import { report, SOAK, scaled, tally } from './support/report'
import { streamEvents } from './support/stream'

/** The functions' BRIDGE_TIMEOUT_MS in the stack: a response that waited on delivery would take this long. */
const BRIDGE_TIMEOUT_MS = 4_000
const BLACKHOLE_MS = scaled(3_000, 60_000)
const PG_OUTAGE_MS = scaled(2_000, 15_000)
const PG_LOAD_MS = scaled(4_500, 60_000)
const STORE_FULL_ENTITIES = scaled(80, 1_000)
const DB_BLACKHOLE_MS = scaled(2_000, 10_000)

let stack: FunctionsStack

beforeAll(async () => {
  stack = await startFunctionsStack({ faultProxies: true })
}, 180_000)

afterAll(async () => {
  await stack?.cleanup()
}, 60_000)

interface Timed {
  status: number
  code?: string
  /** The start of the answer when it was not a success. */
  text?: string
  ms: number
  startedAt: number
  endedAt: number
  id?: string
}

const timed = async (call: () => ReturnType<typeof api>): Promise<Timed> => {
  const startedAt = Date.now()
  try {
    const res = await call()
    const error = res.body?.error as { code?: string } | undefined
    const endedAt = Date.now()
    return {
      status: res.status,
      code: error?.code,
      ms: endedAt - startedAt,
      startedAt,
      endedAt,
      id: typeof res.body?.id === 'string' ? res.body.id : undefined,
      text: res.status >= 300 ? `${res.headers.get('content-type')} ${res.text.slice(0, 200)}` : undefined,
    }
  } catch {
    const endedAt = Date.now()
    return { status: 0, ms: endedAt - startedAt, startedAt, endedAt }
  }
}

/** Runs `step` from `workers` loops until `until()` says stop. */
const loop = async (workers: number, until: () => boolean, step: () => Promise<void>) =>
  Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until()) await step()
    }),
  )

const drain = async (prefix: string) => {
  const started = Date.now()
  await waitFor(
    async () => {
      await fireCron(stack)
      return (await pendingOutbox(stack.sql, prefix)) === 0 ? true : undefined
    },
    `the outbox of ${prefix} to drain`,
    180_000,
    500,
  )
  return Date.now() - started
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
}

describe('functions ↔ bridge blackholed while entities are created and updated (fault proxy)', () => {
  it(
    `answers 201/200 without waiting on the bridge for ${BLACKHOLE_MS / 1000} s; after the heal every event arrives once, in per-entity order`,
    async () => {
      const prefix = 'fb-hole'
      const proxy = stack.proxies.bridge!
      const creates: Timed[] = []
      const updates: Timed[] = []
      const createAndUpdate = async () => {
        const created = await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix)))
        creates.push(created)
        if (created.status !== 201 || !created.id) return
        updates.push(
          await timed(() =>
            api(stack, 'PATCH', `/api/v1/entities/${created.id}`, {
              description: 'updated in the blackhole',
            }),
          ),
        )
      }
      // the usual latency, with the link healthy
      let baselineDone = 0
      await loop(
        4,
        () => baselineDone++ >= 20,
        async () => {
          await createAndUpdate()
        },
      )
      const baseline = creates.map((c) => c.ms)

      const blackholedAt = Date.now()
      proxy.blackhole()
      await loop(4, () => Date.now() - blackholedAt >= BLACKHOLE_MS, createAndUpdate)
      const heldConnections = proxy.connections()
      const healedAt = Date.now()
      proxy.heal()
      const during = [...creates, ...updates].filter(
        (c) => c.startedAt >= blackholedAt && c.startedAt < healedAt,
      )
      const drainMs = await drain(prefix)

      const acked = creates.filter((c) => c.status === 201).map((c) => c.id!)
      const updated = new Set(updates.filter((u) => u.status === 200).map((u) => u.id))
      const stream = (await streamEvents(stack.nats.url)).filter((m) =>
        m.event.event_type.startsWith('entity.'),
      )
      const ackedSet = new Set(acked)
      const ours = stream.filter((m) => ackedSet.has(m.event.entity_id ?? ''))
      const registered = ours.filter((m) => m.event.event_type === 'entity.registered')
      const figures = tally(
        acked,
        registered.map((m) => m.event.entity_id ?? ''),
      )
      const outOfOrder = acked.filter((id) => {
        const seqs = ours.filter((m) => m.event.entity_id === id)
        const reg = seqs.find((m) => m.event.event_type === 'entity.registered')
        return seqs.some((m) => m.event.event_type === 'entity.updated' && reg && m.seq < reg.seq)
      })
      const updatedEvents = ours.filter((m) => m.event.event_type === 'entity.updated')
      report({
        scenario: '12 functions↔bridge blackholed',
        sent: creates.length + updates.length,
        acked: acked.length + updated.size,
        received: figures.received + new Set(updatedEvents.map((m) => m.event.event_id)).size,
        lost: figures.lost,
        duplicated:
          figures.duplicated + updatedEvents.length - new Set(updatedEvents.map((m) => m.msgId)).size,
        recovery_ms: drainMs,
        notes: {
          blackhole_ms: BLACKHOLE_MS,
          answered_while_blackholed: during.length,
          p50_ms_before: percentile(baseline, 50),
          p50_ms_during: percentile(
            during.map((c) => c.ms),
            50,
          ),
          max_ms_during: Math.max(...during.map((c) => c.ms)),
          held_connections: heldConnections,
          out_of_order: outOfOrder.length,
        },
      })
      expect([...creates, ...updates].filter((c) => c.status !== 201 && c.status !== 200)).toEqual([])
      expect(during.length).toBeGreaterThan(0)
      // a response that waited on the delivery would take at least the bridge client's timeout
      expect(during.filter((c) => c.ms >= BRIDGE_TIMEOUT_MS)).toEqual([])
      expect(figures.missing).toEqual([])
      expect(figures.duplicated).toBe(0)
      expect(updatedEvents.length).toBe(updated.size)
      expect(outOfOrder).toEqual([])
    },
    SOAK ? 600_000 : 120_000,
  )
})

describe('Postgres killed (-9) in the middle of transactions under load', () => {
  it(
    'no partial writes, no acked request without its row and its event, 503 while down, recovery without restarts',
    async ({ skip }) => {
      const { pg } = stack
      if (!pg.kill || !pg.restart) {
        console.log(
          '[reliability] postgres kill -9 skipped: TEST_DATABASE_URL/DATABASE_URL points at a server the tests do not own',
        )
        skip()
        return
      }
      const prefix = 'pg-kill'
      const answers: Timed[] = []
      const started = Date.now()
      let killedAt = 0
      let restartedAt = 0
      const load = loop(
        8,
        () => Date.now() - started >= PG_LOAD_MS && restartedAt > 0,
        async () => {
          const a = await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix)))
          answers.push(a)
          if (a.status !== 201) await sleep(100)
        },
      )
      await sleep(PG_LOAD_MS / 3)
      killedAt = Date.now()
      await pg.kill()
      await sleep(PG_OUTAGE_MS)
      await pg.restart()
      restartedAt = Date.now()
      await load
      const recovered = await waitFor(async () => {
        const first = answers.find((a) => a.status === 201 && a.startedAt >= restartedAt)
        if (first) return first.endedAt
        const a = await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix)))
        answers.push(a)
        return a.status === 201 ? a.endedAt : undefined
      }, 'the functions to create again')
      const recoveryMs = recovered - restartedAt
      const drainMs = await drain(prefix)

      const acked = answers.filter((a) => a.status === 201).map((a) => a.id!)
      const rows = await stack.sql<{ id: string; outbox: number }[]>`
      select e.id::text as id,
             (select count(*)::int from outbox o
               where o.entity_key = e.id::text and o.event_type = 'entity.registered') as outbox
        from entities e where e.name like ${`${prefix}-%`}`
      const orphanEvents = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from outbox o
       where o.event_type = 'entity.registered' and o.payload->>'entity_name' like ${`${prefix}-%`}
         and not exists (select 1 from entities e where e.id::text = o.entity_key)`
      const committed = new Set(rows.map((r) => r.id))
      const stream = (await streamEvents(stack.nats.url)).filter(
        (m) => m.event.event_type === 'entity.registered' && committed.has(m.event.entity_id ?? ''),
      )
      const figures = tally(
        acked,
        stream.map((m) => m.event.entity_id ?? ''),
      )
      const refusals = answers.filter((a) => a.status !== 201)
      const codes = new Map<string, number>()
      for (const a of refusals)
        codes.set(`${a.status}:${a.code}`, (codes.get(`${a.status}:${a.code}`) ?? 0) + 1)
      const whileDown = answers.filter((a) => a.startedAt >= killedAt && a.endedAt <= restartedAt)
      report({
        scenario: '13 postgres kill -9 under load',
        sent: answers.length,
        acked: acked.length,
        received: figures.received,
        lost: figures.lost,
        duplicated: figures.duplicated,
        recovery_ms: recoveryMs,
        notes: {
          outage_ms: PG_OUTAGE_MS,
          committed: committed.size,
          committed_unacked: [...committed].filter((id) => !acked.includes(id)).length,
          partial_writes: rows.filter((r) => r.outbox !== 1).length + (orphanEvents[0]?.n ?? 0),
          refused: [...codes].map(([k, n]) => `${k}x${n}`).join(',') || 'none',
          drain_ms: drainMs,
        },
      })
      // every refusal is the documented one
      expect(refusals.filter((a) => a.status !== 503 || a.code !== 'database_unavailable')).toEqual([])
      expect(whileDown.length).toBeGreaterThan(0)
      expect(whileDown.filter((a) => a.status === 201)).toEqual([])
      // no partial writes: each entity row has exactly its event, and no event lacks its row
      expect(rows.filter((r) => r.outbox !== 1)).toEqual([])
      expect(orphanEvents[0]?.n).toBe(0)
      // every acked create has its row and its event
      expect(acked.filter((id) => !committed.has(id))).toEqual([])
      expect(figures.missing).toEqual([])
      expect(figures.duplicated).toBe(0)
    },
    SOAK ? 600_000 : 120_000,
  )
})

describe('JetStream store full: STREAM_MAX_BYTES reached with discard: new', () => {
  it(
    'the bridge refuses with stream_full, the outbox holds, nothing acked is lost, everything flows once there is room',
    async () => {
      const prefix = 'store-full'
      const nc = await connect({ servers: stack.nats.url, name: 'store-full-admin' })
      try {
        const jsm = await nc.jetstreamManager()
        const info = await jsm.streams.info(STREAM_NAME)
        const original = info.config
        // room for a few dozen more events, then refusals
        await jsm.streams.update(STREAM_NAME, {
          ...original,
          max_bytes: info.state.bytes + 32 * 1024,
          discard: DiscardPolicy.New,
        })
        const creates: Timed[] = []
        let next = 0
        await loop(
          4,
          () => next >= STORE_FULL_ENTITIES,
          async () => {
            next++
            creates.push(await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix))))
          },
        )
        const direct = await fetch(`${stack.bridge.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(entityRegistered()),
        })
        const directBody = (await direct.json()) as { error?: { code?: string } }
        const held = await pendingOutbox(stack.sql, prefix)
        const errors = await stack.sql<{ last_error: string | null }[]>`
        select last_error from outbox
         where delivered_at is null and payload->>'entity_name' like ${`${prefix}-%`}`
        const fullInfo = await jsm.streams.info(STREAM_NAME)

        const freedAt = Date.now()
        await jsm.streams.update(STREAM_NAME, original)
        const drainMs = await drain(prefix)
        const recoveryMs = Date.now() - freedAt

        const acked = creates.filter((c) => c.status === 201).map((c) => c.id!)
        const ackedSet = new Set(acked)
        const registered = (await streamEvents(stack.nats.url)).filter(
          (m) => m.event.event_type === 'entity.registered' && ackedSet.has(m.event.entity_id ?? ''),
        )
        const figures = tally(
          acked,
          registered.map((m) => m.event.entity_id ?? ''),
        )
        report({
          scenario: '14 jetstream store full (max_bytes, discard new)',
          sent: creates.length,
          acked: acked.length,
          received: figures.received,
          lost: figures.lost,
          duplicated: figures.duplicated,
          recovery_ms: recoveryMs,
          notes: {
            held_in_outbox: held,
            refused_code: `${direct.status}:${directBody.error?.code}`,
            stream_bytes_when_full: fullInfo.state.bytes,
            drain_ms: drainMs,
          },
        })
        // the API kept answering; the stream refused, with its own code, and said when to retry
        expect(creates.filter((c) => c.status !== 201)).toEqual([])
        expect({ status: direct.status, code: directBody.error?.code }).toEqual({
          status: 503,
          code: 'stream_full',
        })
        expect(direct.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(held).toBeGreaterThan(0)
        expect(errors.some((e) => e.last_error?.includes('stream_full'))).toBe(true)
        // once there is room, everything acked arrives, once
        expect(figures.missing).toEqual([])
        expect(figures.duplicated).toBe(0)
      } finally {
        await nc.close()
      }
    },
    SOAK ? 600_000 : 120_000,
  )
})

describe('functions ↔ SQL endpoint blackholed, then cut (fault proxy)', () => {
  it('requests wait for the heal or get 503 database_unavailable; every 201 has its row and its outbox event', async () => {
    const prefix = 'db-link'
    const proxy = stack.proxies.database!
    const answers: Timed[] = []
    const burst = (n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          answers.push(await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix))))
        }),
      )
    proxy.blackhole()
    const during = burst(8)
    await sleep(DB_BLACKHOLE_MS)
    const healedAt = Date.now()
    proxy.heal()
    await during
    proxy.cut()
    await burst(4)
    proxy.heal()
    const recovered = await waitFor(async () => {
      const a = await timed(() => api(stack, 'POST', '/api/v1/entities', newEntity(prefix)))
      answers.push(a)
      return a.status === 201 ? a.endedAt : undefined
    }, 'the functions to create again')
    await drain(prefix)
    const acked = answers.filter((a) => a.status === 201).map((a) => a.id!)
    const rows = await stack.sql<{ id: string; outbox: number }[]>`
      select e.id::text as id,
             (select count(*)::int from outbox o where o.entity_key = e.id::text) as outbox
        from entities e where e.name like ${`${prefix}-%`}`
    const committed = new Set(rows.map((r) => r.id))
    const refusals = answers.filter((a) => a.status !== 201)
    report({
      scenario: '17 functions↔SQL endpoint blackholed then cut',
      sent: answers.length,
      acked: acked.length,
      received: committed.size,
      lost: acked.filter((id) => !committed.has(id)).length,
      duplicated: 0,
      recovery_ms: recovered - healedAt,
      notes: {
        blackhole_ms: DB_BLACKHOLE_MS,
        slowest_ms: Math.max(...answers.map((a) => a.ms)),
        refused: refusals.map((a) => `${a.status}:${a.code}`).join(',') || 'none',
        committed_unacked: [...committed].filter((id) => !acked.includes(id)).length,
      },
    })
    expect(refusals.filter((a) => a.status !== 503 || a.code !== 'database_unavailable')).toEqual([])
    expect(acked.filter((id) => !committed.has(id))).toEqual([])
    expect(rows.filter((r) => r.outbox !== 1)).toEqual([])
  })
})
