import { neonConfig, Pool } from '@neondatabase/serverless'
import type { Context } from 'hono'
import type { HonoEnv } from '../app'

/**
 * Points the Neon driver at a plain WebSocket→TCP relay (see scripts/lib/pg-ws-relay.ts) instead of
 * Neon's proxy. The relay only ever connects to the Postgres it was started for, so the address
 * query parameter is informational.
 */
const useLocalRelay = (proxy: string) => {
  neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
}

export const createPool = (env: HonoEnv['Bindings']) => {
  if (env.PG_WS_PROXY) useLocalRelay(env.PG_WS_PROXY)
  return new Pool({ connectionString: env.DATABASE_URL })
}

/**
 * A Pool lives for one request only (Workers cannot share sockets across requests); it is ended
 * after the response through waitUntil.
 */
export const withPool = async <T>(c: Context<HonoEnv>, fn: (pool: Pool) => Promise<T>): Promise<T> => {
  const pool = createPool(c.env)
  try {
    return await fn(pool)
  } finally {
    c.executionCtx.waitUntil(pool.end())
  }
}
