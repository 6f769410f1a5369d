import { type PgWsRelay, startPgWsRelay } from '../../scripts/lib/pg-ws-relay'
import { BRIDGE_TEST_TOKENS, type BridgeProcess, startBridgeProcess, type TokenSpec } from './bridge-process'
import { type NatsServerHandle, startNatsServer } from './nats-server'
import { createTestDatabase, startPostgres, type TestDatabase } from './postgres'

export interface TestStack {
  nats: NatsServerHandle
  natsUrl: string
  /** Server-level URL (its `postgres` database); tests may create more databases on it. */
  postgresServerUrl: string
  /** A fresh database with migrations applied. */
  database: TestDatabase
  databaseUrl: string
  relay: PgWsRelay
  /** ws://127.0.0.1:<port>/ */
  relayUrl: string
  /** http://127.0.0.1:<port>/sql: the relay's SQL-over-HTTP endpoint (same port). */
  sqlUrl: string
  /** host:port of the relay (WebSocket and `/sql`), the form `PG_WS_PROXY` takes. */
  pgWsProxy: string
  /** A real bridge process on `natsUrl`, ready (NATS connected, stream ensured). */
  bridge: BridgeProcess
  bridgeUrl: string
  bridgeTokens: typeof STACK_BRIDGE_TOKENS
  /** Stops everything started here, in reverse order. */
  cleanup(): Promise<void>
}

/** The bridge test tokens plus the one the functions use (publish and request on library subjects). */
export const STACK_BRIDGE_TOKENS = {
  ...BRIDGE_TEST_TOKENS,
  functions: { token: 'functions-token-0123456789abcdef', publish: ['library.>'], request: ['library.>'] },
} satisfies Record<string, TokenSpec>

export interface StackOptions {
  /** Prefix of the test database's name. */
  databasePrefix?: string
  /** Extra environment of the stack's bridge. */
  bridgeEnv?: Record<string, string>
}

/**
 * The Node-side services a test run needs: nats-server (JetStream, own port), Postgres with a fresh
 * migrated database, and the relay the Neon driver uses to reach it (WebSocket and `POST /sql`, one
 * port; `/sql` answers for that database).
 */
export const startStackForTests = async (options: StackOptions = {}): Promise<TestStack> => {
  const stops: Array<() => Promise<void>> = []
  const cleanup = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((err) => console.error('test stack cleanup:', err))
    }
    stops.length = 0
  }
  try {
    const nats = await startNatsServer()
    stops.push(() => nats.cleanup())

    const pg = await startPostgres()
    stops.push(() => pg.stop())
    const database = await createTestDatabase(pg.url, options.databasePrefix ?? 'stack')
    stops.push(() => database.drop())

    const target = new URL(database.url)
    const relay = await startPgWsRelay({
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [database.name],
    })
    stops.push(() => relay.close())

    const bridge = await startBridgeProcess({
      natsUrl: nats.url,
      tokens: STACK_BRIDGE_TOKENS,
      env: options.bridgeEnv,
      waitFor: 'ready',
    })
    stops.push(async () => {
      await bridge.stop()
    })

    return {
      nats,
      natsUrl: nats.url,
      postgresServerUrl: pg.url,
      database,
      databaseUrl: database.url,
      relay,
      relayUrl: relay.url,
      sqlUrl: relay.sqlUrl,
      pgWsProxy: `127.0.0.1:${relay.port}`,
      bridge,
      bridgeUrl: bridge.url,
      bridgeTokens: STACK_BRIDGE_TOKENS,
      cleanup,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}
