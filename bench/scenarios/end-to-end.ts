import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { startPgWsRelay } from '../../scripts/lib/pg-ws-relay'
import { apiKeysVar, functionsExist, startFunctions } from '../../scripts/lib/stack/functions'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { createEvent } from '../../shared/events'
import { subjectFor } from '../../shared/subjects'
import { createTestDatabase, startPostgres } from '../../test/support/postgres'
import type { BenchContext } from '../lib/context'
import { runLoops } from '../lib/measure'
import { withCpu } from '../lib/resources'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CONCURRENCY = Number(process.env.BENCH_E2E_CONCURRENCY ?? 8)
const API_KEY = 'bench-api-key-0123456789abcdef'
const EVENT_WAIT_MS = 30_000
const SUBJECT = subjectFor('entity.registered')
const STRATEGY_CONFIG = { symbols: ['AAPL'], max_position: 10 }

/**
 * Resolves when the subscriber has seen the `entity.registered` event of an entity; the event may
 * come in before the HTTP response that names the entity does.
 */
const eventWaiter = (ctx: BenchContext) => {
  const waiting = new Map<string, () => void>()
  const early = new Set<string>()
  const sub = ctx.nc.subscribe(SUBJECT, {
    callback: (_err, m) => {
      const id = (m.json() as { entity_id?: string }).entity_id
      if (!id) return
      const done = waiting.get(id)
      if (!done) {
        early.add(id)
        return
      }
      waiting.delete(id)
      done()
    },
  })
  const waitFor = (entityId: string) =>
    new Promise<void>((resolve, reject) => {
      if (early.delete(entityId)) {
        resolve()
        return
      }
      const timer = setTimeout(() => {
        waiting.delete(entityId)
        reject(new Error(`no event for ${entityId}`))
      }, EVENT_WAIT_MS)
      waiting.set(entityId, () => {
        clearTimeout(timer)
        resolve()
      })
    })
  return { waitFor, close: () => sub.unsubscribe() }
}

/**
 * `POST /api/v1/entities` on the functions in workerd (wrangler dev) until the event reaches a
 * NATS subscriber, vs the same insert + outbox row + JetStream publish done directly from Node, and
 * held against the composed limit of `functions-hello` (`GET /health` under wrangler dev, the same
 * client and concurrency) and `e2e-direct`. Then one request at a time (c=1): p50 of `GET /health`,
 * `GET /api/v1/entities/{id}` and `POST /api/v1/entities` (until the 201), side by side.
 */
export const endToEndScenario = async (ctx: BenchContext) => {
  if (!functionsExist(ROOT)) {
    ctx.step('e2e: no functions in this checkout, rows skipped')
    return
  }
  const stops: Array<() => Promise<unknown>> = []
  try {
    ctx.step('e2e: starting Postgres, relay and wrangler dev')
    const pg = await startPostgres()
    stops.push(() => pg.stop())
    const database = await createTestDatabase(pg.url, 'bench')
    stops.push(() => database.drop())
    const target = new URL(database.url)
    const relay = await startPgWsRelay({
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [database.name],
    })
    stops.push(() => relay.close())
    const workDir = await mkdtemp(join(tmpdir(), 'bench-e2e-'))
    stops.push(() => rm(workDir, { recursive: true, force: true }))
    const functions = await startFunctions({
      root: ROOT,
      port: await getFreePort(),
      vars: {
        DATABASE_URL: database.url,
        PG_WS_PROXY: `127.0.0.1:${relay.port}`,
        BRIDGE_URL: ctx.bridge.url,
        BRIDGE_TOKEN: ctx.token,
        API_KEYS: apiKeysVar([{ name: 'bench', key: API_KEY }]),
      },
      envFile: join(workDir, 'functions.env'),
      persistDir: join(workDir, 'wrangler'),
      logFile: join(workDir, 'functions.log'),
    })
    stops.push(async () => {
      functions.stopCron()
      await functions.process.stop()
    })
    const events = eventWaiter(ctx)
    stops.push(async () => events.close())

    const createEntity = async () => {
      const res = await fetch(`${functions.url}/api/v1/entities`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `bench-${randomUUID()}`,
          type: 'strategy',
          version: '1.0.0',
          description: 'benchmark entity',
          config: STRATEGY_CONFIG,
        }),
      })
      const body = (await res.json()) as { id?: string }
      if (res.status !== 201 || !body.id) throw new Error(`POST /api/v1/entities answered ${res.status}`)
      return body.id
    }
    const viaFunctions = async () => {
      await events.waitFor(await createEntity())
      return 1
    }
    const getOk = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${functions.url}${path}`, { headers })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`)
      return 1
    }
    const health = () => getOk('/health')

    const sql = postgres(database.url, { max: CONCURRENCY, onnotice: () => {} })
    stops.push(() => sql.end())
    const direct = async () => {
      const id = randomUUID()
      const name = `bench-${randomUUID()}`
      const event = createEvent({
        event_type: 'entity.registered',
        entity_id: id,
        entity_name: name,
        entity_type: 'strategy',
        version: '1.0.0',
        data: { description: 'benchmark entity' },
      })
      const arrived = events.waitFor(id)
      await sql.begin(async (tx) => {
        await tx`insert into entities (id, name, type, version, description, config, metadata, created_by)
                 values (${id}, ${name}, 'strategy', '1.0.0', 'benchmark entity', ${tx.json(STRATEGY_CONFIG)}, '{}', 'bench')`
        await tx`insert into outbox (event_id, event_type, subject, entity_key, payload)
                 values (${event.event_id}, ${event.event_type}, ${SUBJECT}, ${id}, ${JSON.stringify(event)}::jsonb)`
      })
      await ctx.js.publish(SUBJECT, JSON.stringify(event), { msgID: event.event_id })
      await sql`update outbox set delivered_at = now() where event_id = ${event.event_id}`
      await arrived
      return 1
    }

    ctx.step('e2e: warm-up')
    const warm = await runLoops(CONCURRENCY, ctx.warmupS + 2, viaFunctions)
    if (warm.errors) console.log(`  warm-up failures: ${warm.errors.join(' | ')}`)
    await runLoops(CONCURRENCY, ctx.warmupS, direct)

    ctx.step(`e2e: GET /health (workerd), c=${CONCURRENCY}`)
    await runLoops(CONCURRENCY, ctx.warmupS, health)
    ctx.rows.push({
      id: 'functions-hello',
      scenario: 'functions GET /health (workerd alone)',
      concurrency: CONCURRENCY,
      unit: 'req',
      ...(await runLoops(CONCURRENCY, ctx.durationS, health)),
    })
    ctx.step(`e2e: direct SQL insert + js.publish, c=${CONCURRENCY}`)
    ctx.rows.push({
      id: 'e2e-direct',
      scenario: 'create entity → event at subscriber: direct SQL + js.publish',
      concurrency: CONCURRENCY,
      unit: 'req',
      ...(await runLoops(CONCURRENCY, ctx.durationS, direct)),
    })
    ctx.step(`e2e: POST /api/v1/entities (workerd) → bridge, c=${CONCURRENCY}`)
    ctx.rows.push({
      id: 'e2e-functions',
      scenario: 'create entity → event at subscriber: POST /api/v1/entities (workerd) → bridge',
      concurrency: CONCURRENCY,
      unit: 'req',
      baseline: 'e2e-direct',
      compare: 'rate',
      limit: { hello: 'functions-hello', direct: 'e2e-direct' },
      ...(await withCpu(ctx.bridge.pid, () => runLoops(CONCURRENCY, ctx.durationS, viaFunctions))),
    })
    if (ctx.rows.at(-1)!.failures > 0) console.log(`  wrangler dev output:\n${functions.process.tail()}`)

    const entityPath = `/api/v1/entities/${await createEntity()}`
    const sequential: Array<[id: string, scenario: string, op: () => Promise<number>]> = [
      ['e2e-seq-health', 'one at a time: functions GET /health', health],
      [
        'e2e-seq-get',
        'one at a time: GET /api/v1/entities/{id}',
        () => getOk(entityPath, { authorization: `Bearer ${API_KEY}` }),
      ],
      [
        'e2e-seq-post',
        'one at a time: POST /api/v1/entities (until the 201)',
        async () => {
          await createEntity()
          return 1
        },
      ],
    ]
    for (const [id, scenario, op] of sequential) {
      ctx.step(`e2e: ${scenario}, c=1`)
      await runLoops(1, Math.min(ctx.warmupS, 1), op)
      ctx.rows.push({
        id,
        scenario,
        concurrency: 1,
        unit: 'req',
        ...(id === 'e2e-seq-health' ? {} : { baseline: 'e2e-seq-health', compare: 'latency' as const }),
        ...(await runLoops(1, ctx.durationS, op)),
      })
    }
    if (ctx.rows.some((r) => r.id.startsWith('e2e-seq') && r.failures > 0))
      console.log(`  wrangler dev output:\n${functions.process.tail()}`)
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error('e2e cleanup:', err))
  }
}
