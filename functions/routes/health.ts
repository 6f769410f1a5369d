import { Hono } from 'hono'
import * as v from 'valibot'
import { readDatabaseHealth } from '../db/health'
import { createDb } from '../db/sql'
import { type Config, type HonoEnv, parseBindings } from '../env'
import { presentedKey } from '../middleware/api-key'
import { probeBridge } from '../outbox/bridge-client'
import { healthDocs } from './health.doc'

const PROBE_TIMEOUT_MS = 2_000
/** How long an isolate answers `/health/detailed` from its last check. */
const SNAPSHOT_TTL_MS = 2_000

const BridgeDetailed = v.object({
  nats: v.object({ state: v.string(), reconnects: v.optional(v.number()) }),
  stream: v.optional(v.object({ ready: v.boolean() })),
})

const errorText = (err: unknown) =>
  err instanceof Error ? err.message.replace(/\w+:\/\/\S+/g, '<url>').slice(0, 200) : 'failed'

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })

/** One statement over HTTP: never a Pool, whoever asks. */
const checkDatabase = async (config: Config) => {
  const started = Date.now()
  try {
    const { outbox, components } = await withTimeout(
      readDatabaseHealth(createDb(config)),
      PROBE_TIMEOUT_MS * 2,
    )
    return {
      database: { status: 'ok' as const, rtt_ms: Date.now() - started },
      outbox: { status: 'ok' as const, ...outbox },
      components,
    }
  } catch (err) {
    return {
      database: { status: 'down' as const, rtt_ms: null, error: errorText(err) },
      outbox: { status: 'unknown' as const, pending: null, oldest_pending_age_seconds: null },
      components: [],
    }
  }
}

const checkBridge = async (config: Config) => {
  const bridgeConfig = { ...config, BRIDGE_TIMEOUT_MS: PROBE_TIMEOUT_MS }
  const [ready, detailed] = await Promise.all([
    probeBridge(bridgeConfig, '/ready', PROBE_TIMEOUT_MS),
    probeBridge(bridgeConfig, '/health/detailed', PROBE_TIMEOUT_MS),
  ])
  const parsed = v.safeParse(BridgeDetailed, detailed.body)
  return {
    bridge: {
      status:
        ready.status === null
          ? ('unreachable' as const)
          : ready.ok
            ? ('ready' as const)
            : ('not_ready' as const),
      ready: ready.ok,
      rtt_ms: ready.status === null ? null : ready.rtt_ms,
    },
    nats: parsed.success
      ? {
          status: parsed.output.nats.state,
          reconnects: parsed.output.nats.reconnects ?? null,
          stream_ready: parsed.output.stream?.ready ?? null,
        }
      : { status: 'unknown', reconnects: null, stream_ready: null },
  }
}

const check = async (config: Config) => {
  const [db, bridge] = await Promise.all([checkDatabase(config), checkBridge(config)])
  const degradedComponents = db.components.filter((component) => component.degraded)
  const healthy =
    db.database.status === 'ok' &&
    bridge.bridge.ready &&
    bridge.nats.status === 'connected' &&
    degradedComponents.length === 0
  return {
    status: healthy ? ('ok' as const) : ('degraded' as const),
    database: db.database,
    bridge: bridge.bridge,
    nats: bridge.nats,
    outbox: db.outbox,
    // reported by monitoring webhooks (health.degraded / health.recovered)
    components: db.components,
    degraded_components: degradedComponents.map((component) => component.component),
  }
}

type Report = Awaited<ReturnType<typeof check>>

interface Snapshot {
  report?: Report
  at: number
  refreshing?: Promise<Report>
}

/** Per isolate, per database and bridge (tests run several configurations in one isolate). */
const snapshots = new Map<string, Snapshot>()
const MAX_SNAPSHOTS = 32

/**
 * The last report while it is fresh; otherwise one check (single flight: callers arriving while it
 * runs share it). Anonymous callers cost at most one database statement and two bridge probes per
 * isolate every SNAPSHOT_TTL_MS, however many they are. A caller with an API key gets a check of
 * its own, begun after its call (e.g. to see the effect of its own webhook).
 */
const detailedReport = (config: Config, fresh: boolean): Promise<Report> => {
  const key = `${config.DATABASE_URL} ${config.PG_WS_PROXY ?? ''} ${config.BRIDGE_URL}`
  let snapshot = snapshots.get(key)
  if (!snapshot) {
    if (snapshots.size >= MAX_SNAPSHOTS) snapshots.clear()
    snapshot = { at: 0 }
    snapshots.set(key, snapshot)
  }
  const current = snapshot
  if (fresh) return check(config)
  if (current.report && Date.now() - current.at < SNAPSHOT_TTL_MS) return Promise.resolve(current.report)
  current.refreshing ??= check(config)
    .then((report) => {
      current.report = report
      current.at = Date.now()
      return report
    })
    .finally(() => {
      current.refreshing = undefined
    })
  return current.refreshing
}

export const healthRoutes = new Hono<HonoEnv>()
  .get('/', healthDocs.live, (c) => c.json({ status: 'ok' }))
  /** Database, bridge and NATS state and the outbox backlog: statuses, timings and counts only. */
  .get('/detailed', healthDocs.detailed, async (c) => {
    const { config, issues } = parseBindings(c.env)
    if (!config) {
      return c.json({
        status: 'degraded',
        environment: { status: 'invalid', bindings: issues.map((i) => i.binding) },
      })
    }
    const fresh = (await presentedKey(config.API_KEYS, c.req.header('authorization'))) !== undefined
    return c.json(await detailedReport(config, fresh))
  })
