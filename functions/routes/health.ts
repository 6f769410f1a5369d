import type { Pool } from '@neondatabase/serverless'
import { Hono } from 'hono'
import * as v from 'valibot'
import { listComponentHealth } from '../db/component-health'
import { ping } from '../db/health'
import { outboxStats } from '../db/outbox'
import { createPool } from '../db/pool'
import { type Config, type HonoEnv, parseBindings } from '../env'
import { probeBridge } from '../outbox/bridge-client'

const PROBE_TIMEOUT_MS = 2_000

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

const checkDatabase = async (pool: Pool) => {
  const started = Date.now()
  try {
    await withTimeout(ping(pool), PROBE_TIMEOUT_MS * 2)
    const rtt = Date.now() - started
    const outbox = await withTimeout(outboxStats(pool), PROBE_TIMEOUT_MS * 2)
    const components = await withTimeout(listComponentHealth(pool), PROBE_TIMEOUT_MS * 2)
    return {
      database: { status: 'ok' as const, rtt_ms: rtt },
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

export const healthRoutes = new Hono<HonoEnv>()
  .get('/', (c) => c.json({ status: 'ok' }))
  /** Database, bridge and NATS state and the outbox backlog: statuses, timings and counts only. */
  .get('/detailed', async (c) => {
    const { config, issues } = parseBindings(c.env)
    if (!config) {
      return c.json({
        status: 'degraded',
        environment: { status: 'invalid', bindings: issues.map((i) => i.binding) },
      })
    }
    const pool = createPool(config)
    try {
      const [db, bridge] = await Promise.all([checkDatabase(pool), checkBridge(config)])
      const degradedComponents = db.components.filter((component) => component.degraded)
      const healthy =
        db.database.status === 'ok' &&
        bridge.bridge.ready &&
        bridge.nats.status === 'connected' &&
        degradedComponents.length === 0
      return c.json({
        status: healthy ? 'ok' : 'degraded',
        database: db.database,
        bridge: bridge.bridge,
        nats: bridge.nats,
        outbox: db.outbox,
        // reported by monitoring webhooks (health.degraded / health.recovered)
        components: db.components,
        degraded_components: degradedComponents.map((component) => component.component),
      })
    } finally {
      c.executionCtx.waitUntil(pool.end().catch(() => {}))
    }
  })
