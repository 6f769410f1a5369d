import { neonConfig, Pool, type PoolClient } from '@neondatabase/serverless'
import type { Config } from '../env'
import { bufferUntilCommit, type OutboxAware } from '../outbox/dispatch'

/**
 * Points the Neon driver at the local endpoint (see scripts/lib/pg-ws-relay.ts) instead of Neon:
 * SQL over HTTP at `POST /sql` and the WebSocket→TCP relay on the same port. It only ever connects
 * to the Postgres it was started for, so the address query parameter is informational.
 */
export const useLocalEndpoint = (proxy: string) => {
  const base = proxy.replace(/^wss?:\/\//, '').replace(/\/$/, '')
  neonConfig.fetchEndpoint = () => `http://${base}/sql`
  neonConfig.wsProxy = (host, port) => `${base}/v2?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
}

/**
 * A Pool lives for one request or one scheduled run only: Workers cannot share sockets across them.
 * Only for interactive transactions (the Cron drain's claims, inbound webhooks); everything else
 * goes over HTTP (see sql.ts).
 */
export const createPool = (config: Pick<Config, 'DATABASE_URL' | 'PG_WS_PROXY'>): Pool => {
  if (config.PG_WS_PROXY) useLocalEndpoint(config.PG_WS_PROXY)
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 2, connectionTimeoutMillis: 5_000 })
  // An idle client whose socket drops (e.g. while the pool ends) is discarded by the pool; without a
  // listener the error event would surface as an uncaught exception.
  pool.on('error', () => {})
  return pool
}

/** The request's Db (its pool opened on first use) or a Pool of a scheduled run. */
export type PoolSource = Pool | ({ pool(): Pool } & OutboxAware)

/**
 * Runs `fn` in one interactive transaction. Outbox rows it records are reported to the source's
 * listener (the request's post-commit delivery) once the transaction has committed.
 */
export const withTransaction = async <T>(
  source: PoolSource,
  fn: (tx: PoolClient & OutboxAware) => Promise<T>,
): Promise<T> => {
  const pool = source instanceof Pool ? source : source.pool()
  const client: PoolClient & OutboxAware = await pool.connect()
  const outbox = bufferUntilCommit(source instanceof Pool ? undefined : source.outbox)
  client.outbox = outbox.listener
  let broken = false
  try {
    await client.query('begin')
    const result = await fn(client)
    await client.query('commit')
    outbox.flush()
    return result
  } catch (err) {
    try {
      await client.query('rollback')
    } catch {
      broken = true
    }
    throw err
  } finally {
    client.outbox = undefined
    client.release(broken)
  }
}

export const isUniqueViolation = (err: unknown, constraint: string): boolean =>
  typeof err === 'object' &&
  err !== null &&
  (err as { code?: unknown }).code === '23505' &&
  (err as { constraint?: unknown }).constraint === constraint
