import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { type PgWsRelay, startPgWsRelay } from '../../../scripts/lib/pg-ws-relay'
import { apiKeysVar, type RunningFunctions, startFunctions } from '../../../scripts/lib/stack/functions'
import { freePort as getFreePort } from '../../../scripts/lib/stack/ports'
import { type BridgeProcess, startBridgeProcess } from '../../support/bridge-process'
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { createTestDatabase, type PostgresServer, startPostgres } from '../../support/postgres'

const ROOT = join(import.meta.dirname, '../../..')

export const SECRETS = {
  apiKey: 'reliability-api-key-7d1e0c9b8a',
  readerKey: 'reliability-reader-key-2c4e6a8b0d',
  bridgeToken: 'reliability-functions-token-5f4e3d2c1b',
  adminToken: 'reliability-admin-token-9a8b7c6d5e',
  webhookSecret: `whsec_${Buffer.from('reliability-webhook-secret-0123456789').toString('base64')}`,
}

export interface FunctionsStack {
  nats: NatsServerHandle
  bridge: BridgeProcess
  functions: RunningFunctions
  functionsUrl: string
  sql: postgres.Sql
  pg: PostgresServer
  /** With `faultProxies`: the links functions → bridge and functions → relay/SQL endpoint. */
  proxies: { bridge?: FaultProxy; database?: FaultProxy }
  relay(): PgWsRelay
  /** Closes the relay the functions reach Postgres through: the database is gone for them. */
  stopDatabasePath(): Promise<void>
  /** Opens it again on the same port. */
  startDatabasePath(): Promise<void>
  /** Starts a new bridge process on the same port (after `bridge.stop()`), waiting only for `/health`. */
  startBridge(): Promise<void>
  /** Everything wrangler dev (the functions) wrote so far. */
  functionsLog(): Promise<string>
  cleanup(): Promise<void>
}

/**
 * nats-server, Postgres with a migrated database, the WebSocket relay, a bridge process and the
 * functions under `wrangler dev` with their Cron Trigger on schedule.
 */
export const startFunctionsStack = async (
  options: { faultProxies?: boolean; bridgeEnv?: Record<string, string> } = {},
): Promise<FunctionsStack> => {
  const stops: Array<() => Promise<unknown>> = []
  const cleanup = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((err) => console.error('cleanup:', err))
  }
  try {
    const workDir = await mkdtemp(join(tmpdir(), 'reliability-'))
    stops.push(() => rm(workDir, { recursive: true, force: true }))
    const nats = await startNatsServer()
    stops.push(() => nats.cleanup())
    const pg = await startPostgres()
    stops.push(() => pg.stop())
    const database = await createTestDatabase(pg.url, 'reliability')
    stops.push(() => database.drop())
    const target = new URL(database.url)
    const relayOptions = {
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [database.name],
    }
    let relay = await startPgWsRelay(relayOptions)
    const relayPort = relay.port
    let relayOpen = true
    stops.push(async () => {
      if (relayOpen) await relay.close()
    })

    const [bridgePort, functionsPort] = [await getFreePort(), await getFreePort()]
    const bridgeOptions = {
      natsUrl: nats.url,
      port: bridgePort,
      tokens: {
        functions: { token: SECRETS.bridgeToken, publish: ['library.>'], request: ['library.>'] },
        admin: { token: SECRETS.adminToken, publish: ['>'], request: ['>'], subscribe: ['>'] },
      },
      env: { BRIDGE_PUBLISH_TIMEOUT_MS: '2000', ...options.bridgeEnv },
    }
    let bridge = await startBridgeProcess({ ...bridgeOptions, waitFor: 'ready' })
    stops.push(() => bridge.stop())
    const proxies: FunctionsStack['proxies'] = {}
    if (options.faultProxies) {
      const bridgeProxy = await startFaultProxy({ target: { port: bridgePort } })
      stops.push(() => bridgeProxy.close())
      const databaseProxy = await startFaultProxy({ target: { port: relayPort } })
      stops.push(() => databaseProxy.close())
      Object.assign(proxies, { bridge: bridgeProxy, database: databaseProxy })
    }

    const logFile = join(workDir, 'functions.log')
    const functions = await startFunctions({
      root: ROOT,
      port: functionsPort,
      vars: {
        DATABASE_URL: database.url,
        PG_WS_PROXY: proxies.database?.address ?? `127.0.0.1:${relayPort}`,
        BRIDGE_URL: proxies.bridge ? `http://${proxies.bridge.address}` : bridge.url,
        BRIDGE_TOKEN: SECRETS.bridgeToken,
        BRIDGE_TIMEOUT_MS: '4000',
        API_KEYS: apiKeysVar([
          { name: 'reliability', key: SECRETS.apiKey },
          { name: 'reliability-reader', key: SECRETS.readerKey, scopes: ['read'] },
        ]),
        WEBHOOK_SOURCES: JSON.stringify({ monitor: { secrets: [SECRETS.webhookSecret], allow: ['*'] } }),
      },
      envFile: join(workDir, 'functions.env'),
      persistDir: join(workDir, 'wrangler'),
      logFile,
      // the Cron Trigger runs on its wrangler.toml schedule, as deployed; tests may also fire it
    })
    stops.push(async () => {
      functions.stopCron()
      await functions.process.stop()
    })
    const sql = postgres(database.url, { max: 2, onnotice: () => {} })
    stops.push(() => sql.end({ timeout: 2 }))

    const stack: FunctionsStack = {
      nats,
      bridge,
      functions,
      functionsUrl: functions.url,
      sql,
      pg,
      proxies,
      relay: () => relay,
      stopDatabasePath: async () => {
        relayOpen = false
        await relay.close()
      },
      startDatabasePath: async () => {
        relay = await startPgWsRelay({ ...relayOptions, port: relayPort })
        relayOpen = true
      },
      startBridge: async () => {
        await bridge.stop()
        bridge = await startBridgeProcess({ ...bridgeOptions, waitFor: 'health' })
        stack.bridge = bridge
      },
      functionsLog: () => readFile(logFile, 'utf8'),
      cleanup,
    }
    return stack
  } catch (err) {
    await cleanup()
    throw err
  }
}

export const api = async (
  stack: Pick<FunctionsStack, 'functionsUrl'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => {
  const res = await fetch(`${stack.functionsUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.apiKey}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, body: json as Record<string, unknown> | undefined }
}

export const newEntity = (prefix: string) => ({
  name: `${prefix}-${randomUUID()}`,
  type: 'strategy',
  version: '1.0.0',
  description: 'reliability load',
  config: { symbols: ['AAPL'], max_position: 10 },
})

/** Fires the Cron Trigger (the outbox drain) once. */
export const fireCron = async (stack: Pick<FunctionsStack, 'functionsUrl'>) => {
  const res = await fetch(`${stack.functionsUrl}/__scheduled?cron=${encodeURIComponent('* * * * *')}`, {
    signal: AbortSignal.timeout(60_000),
  })
  await res.arrayBuffer()
  return res.status
}

export const pendingOutbox = async (sql: postgres.Sql, namePrefix?: string) => {
  const [row] = namePrefix
    ? await sql<{ n: number }[]>`
        select count(*)::int as n from outbox
         where delivered_at is null
           and entity_key in (select id::text from entities where name like ${`${namePrefix}-%`})`
    : await sql<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`
  return row?.n ?? 0
}
