import { neon, type Pool } from '@neondatabase/serverless'
import type { Config } from '../env'
import { createPool, useLocalEndpoint } from './pool'

export interface Rows<R> {
  rows: R[]
  rowCount: number | null
}

/** What every function in `db/` takes first: the request's Db, or a client inside an interactive transaction. */
export interface Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: row shapes are declared by each query's caller
  query<R = any>(text: string, params?: unknown[]): Promise<Rows<R>>
}

export interface Statement {
  text: string
  params: unknown[]
}

/**
 * The database as one request sees it. `query` and `batch` are one HTTP call each (Neon's SQL over
 * HTTP); `pool()` opens a WebSocket Pool on first use, for the few flows that need an interactive
 * transaction, and is ended after the request.
 */
export interface Db extends Queryable {
  /** Runs the statements as one non-interactive transaction; none may depend on another's result. */
  batch(statements: readonly Statement[]): Promise<Rows<Record<string, unknown>>[]>
  pool(): Pool
}

export type DbConfig = Pick<Config, 'DATABASE_URL' | 'PG_WS_PROXY'>

/** A statement that hangs longer than this fails like an unreachable database. */
const QUERY_TIMEOUT_MS = 15_000

const fetchOptions = () => ({ signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) })

export const createDb = (config: DbConfig): Db & { end(): Promise<void> } => {
  if (config.PG_WS_PROXY) useLocalEndpoint(config.PG_WS_PROXY)
  const sql = neon(config.DATABASE_URL, { fullResults: true })
  let pool: Pool | undefined
  return {
    query: async (text, params = []) => {
      const result = await sql.query(text, params, { fetchOptions: fetchOptions() })
      return { rows: result.rows as never[], rowCount: result.rowCount }
    },
    batch: async (statements) => {
      const results = await sql.transaction(
        statements.map((s) => sql.query(s.text, s.params)),
        { fetchOptions: fetchOptions() },
      )
      return results.map((r) => ({ rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount }))
    },
    pool: () => {
      pool ??= createPool(config)
      return pool
    },
    end: async () => {
      await pool?.end()
    },
  }
}
