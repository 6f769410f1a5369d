import type { Pool, PoolClient } from '@neondatabase/serverless'
import type { LibraryEvent } from '../../shared/events'
import { subjectFor } from '../../shared/subjects'
import { type Db, withTransaction } from './pool'

/** Events about one entity (its deployments included) share a key and are delivered in insertion order. */
export const entityKeyOf = (event: LibraryEvent): string | null =>
  event.entity_id ?? event.swap_id ?? event.deployment_id ?? null

export const insertEvents = async (tx: PoolClient, events: readonly LibraryEvent[]): Promise<void> => {
  for (const event of events) {
    await tx.query(
      `insert into outbox (event_id, event_type, subject, entity_key, payload)
       values ($1, $2, $3, $4, $5)`,
      [
        event.event_id,
        event.event_type,
        subjectFor(event.event_type),
        entityKeyOf(event),
        JSON.stringify(event),
      ],
    )
  }
}

export interface OutboxRow {
  id: string
  event_id: string
  entity_key: string | null
  payload: LibraryEvent
  attempts: number
}

export interface ClaimOptions {
  /** Only these events (the post-commit path); all due rows otherwise (the scheduled drain). */
  eventIds?: readonly string[]
  limit: number
  /** How long a claimed row is hidden from other runs while it is being delivered. */
  leaseMs: number
}

/**
 * Claims due rows oldest first and leases them (attempts + 1, next_attempt_at pushed out) so that
 * concurrent runs skip them. A row is left out while an older undelivered row of the same
 * entity_key exists outside this claim, which keeps per-entity order across runs.
 *
 * Both queries order by the qualified `o.id`: a bare `id` in ORDER BY names the text output column
 * (`id::text as id`), which sorts '10' before '9'.
 */
export const claimDue = (pool: Pool, options: ClaimOptions): Promise<OutboxRow[]> =>
  withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<OutboxRow>(
      `select o.id::text as id, o.event_id, o.entity_key, o.payload, o.attempts
         from outbox o
        where o.delivered_at is null
          and o.next_attempt_at <= now()
          and ($1::uuid[] is null or o.event_id = any($1::uuid[]))
        order by o.id
        limit $2
          for update skip locked`,
      [options.eventIds ? [...options.eventIds] : null, options.limit],
    )
    if (rows.length === 0) return []

    const keys = [...new Set(rows.flatMap((r) => (r.entity_key === null ? [] : [r.entity_key])))]
    const claimed = new Set(rows.map((r) => r.id))
    const blocked = new Set<string>()
    if (keys.length > 0) {
      const maxId = rows[rows.length - 1]!.id
      const older = await tx.query<{ id: string; entity_key: string }>(
        `select o.id::text as id, o.entity_key
           from outbox o
          where o.delivered_at is null and o.entity_key = any($1::text[]) and o.id <= $2::bigint
          order by o.id`,
        [keys, maxId],
      )
      const blockedKeys = new Set<string>()
      for (const row of older.rows) {
        if (!claimed.has(row.id)) blockedKeys.add(row.entity_key)
        else if (blockedKeys.has(row.entity_key)) blocked.add(row.id)
      }
    }
    const deliverable = rows.filter((r) => !blocked.has(r.id))
    if (deliverable.length === 0) return []
    await tx.query(
      `update outbox
          set attempts = attempts + 1,
              next_attempt_at = now() + $2::int * interval '1 millisecond'
        where id = any($1::bigint[])`,
      [deliverable.map((r) => r.id), options.leaseMs],
    )
    return deliverable
  })

export const markDelivered = async (db: Db, acks: readonly { id: string; seq: number }[]): Promise<void> => {
  if (acks.length === 0) return
  await db.query(
    `update outbox o
        set delivered_at = now(), stream_seq = x.seq, last_error = null
       from unnest($1::bigint[], $2::bigint[]) as x(id, seq)
      where o.id = x.id and o.delivered_at is null`,
    [acks.map((a) => a.id), acks.map((a) => a.seq)],
  )
}

export const markFailed = async (
  db: Db,
  failures: readonly { id: string; delayMs: number; error: string }[],
): Promise<void> => {
  if (failures.length === 0) return
  await db.query(
    `update outbox o
        set next_attempt_at = now() + x.delay_ms * interval '1 millisecond', last_error = x.error
       from unnest($1::bigint[], $2::int[], $3::text[]) as x(id, delay_ms, error)
      where o.id = x.id and o.delivered_at is null`,
    [
      failures.map((f) => f.id),
      failures.map((f) => Math.round(f.delayMs)),
      failures.map((f) => f.error.slice(0, 1_000)),
    ],
  )
}

export interface OutboxStats {
  pending: number
  oldest_pending_age_seconds: number | null
}

export const outboxStats = async (db: Db): Promise<OutboxStats> => {
  const { rows } = await db.query<{ pending: number; oldest: number | null }>(
    `select count(*)::int as pending,
            extract(epoch from now() - min(created_at))::float8 as oldest
       from outbox
      where delivered_at is null`,
  )
  const row = rows[0]
  return {
    pending: row?.pending ?? 0,
    oldest_pending_age_seconds: row?.oldest == null ? null : Math.round(row.oldest * 1000) / 1000,
  }
}
