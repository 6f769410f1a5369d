import { env } from 'cloudflare:test'
import { createDb } from '../../../functions/db/sql'
import type { Config } from '../../../functions/env'

export interface OutboxRecord {
  id: string
  event_id: string
  event_type: string
  subject: string
  entity_key: string | null
  payload: Record<string, unknown>
  delivered_at: Date | null
  stream_seq: string | null
  attempts: number
  next_attempt_at: Date
  last_error: string | null
}

/** Runs `sql` on the test database through the same driver and local endpoint the Worker uses. */
export const query = async <T = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> => {
  const db = createDb(env as unknown as Pick<Config, 'DATABASE_URL' | 'PG_WS_PROXY'>)
  const { rows } = await db.query<T>(sql, params)
  return rows
}

export const outboxFor = (entityId: string) =>
  query<OutboxRecord>(
    `select id::text as id, event_id, event_type, subject, entity_key, payload, delivered_at,
            stream_seq::text as stream_seq, attempts, next_attempt_at, last_error
       from outbox o where entity_key = $1 order by o.id`,
    [entityId],
  )
