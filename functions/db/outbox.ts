import type { Pool } from '@neondatabase/serverless'
import type { LibraryEvent } from '../../shared/events'
import { subjectFor } from '../../shared/subjects'
import type { OutboxAware } from '../outbox/dispatch'
import { withTransaction } from './pool'
import type { Db, Queryable, Rows, Statement } from './sql'

/** Events about one entity (its deployments included) share a key and are delivered in insertion order. */
export const entityKeyOf = (event: LibraryEvent): string | null =>
  event.entity_id ?? event.swap_id ?? event.deployment_id ?? null

const outboxRows = (events: readonly LibraryEvent[]) =>
  JSON.stringify(
    events.map((event) => ({
      event_id: event.event_id,
      event_type: event.event_type,
      subject: subjectFor(event.event_type),
      entity_key: entityKeyOf(event),
      payload: event,
    })),
  )

/** Inserts `$n` (outbox rows as a JSON array) in array order, when `condition` holds. */
const insertRows = (n: number, condition: string, onConflict: string) =>
  `insert into outbox (event_id, event_type, subject, entity_key, payload)
   select (x.e->>'event_id')::uuid, x.e->>'event_type', x.e->>'subject', x.e->>'entity_key', x.e->'payload'
     from jsonb_array_elements($${n}::jsonb) with ordinality as x(e, n)
    where ${condition}
    order by x.n
   ${onConflict}`

/**
 * Takes a transaction-scoped advisory lock per entity_key of `events` (in key order, so writers never
 * deadlock on each other), held until commit. Every writer of outbox rows takes it before its
 * insert, so the rows of one key get their ids in commit order, and a statement that runs after the
 * lock sees every older row of its keys: a row lock inside the writing statement is not enough,
 * because in READ COMMITTED the rest of that statement keeps the snapshot taken before the wait.
 */
const lockEntityKeys = (events: readonly LibraryEvent[]): Statement | undefined => {
  const keys = [...new Set(events.flatMap((e) => entityKeyOf(e) ?? []))].sort()
  if (keys.length === 0) return undefined
  return {
    text: `select count(pg_advisory_xact_lock(hashtextextended(k.key, 0)))
             from (select key from unnest($1::text[]) as u(key) order by key) k`,
    params: [keys],
  }
}

/** Inside an interactive transaction (inbound webhooks); everything else writes with `withOutbox`. */
export const insertEvents = async (
  tx: Queryable & OutboxAware,
  events: readonly LibraryEvent[],
): Promise<void> => {
  if (events.length === 0) return
  const lock = lockEntityKeys(events)
  if (lock) await tx.query(lock.text, lock.params)
  await tx.query(insertRows(1, 'true', ''), [outboxRows(events)])
  tx.outbox?.recorded(events)
}

export interface Written<R> {
  rows: R[]
  /**
   * The events this statement inserted that no older undelivered event of the same entity_key
   * preceded when it ran: the post-commit delivery may publish these, the rest wait for the drain.
   */
  ready: string[]
}

export interface OutboxWrite {
  /** CTEs run before the write (`name as (…), …`); the write may read them. */
  before?: string
  /** The data-modifying statement, with `returning`: its rows are the result. */
  write: string
  params: unknown[]
  /** Inserted only if the write returned a row, so a conditional write that missed records nothing. */
  events: readonly LibraryEvent[]
  /** An event already recorded under its id is left alone (events that arrive from outside). */
  ignoreRecorded?: boolean
  /** Events published in the same batch ahead of these: they do not hold these back. */
  publishedAhead?: readonly string[]
}

/** The undelivered rows of `o`'s entity older than `o`, apart from the events in the uuid[] parameter `ahead`. */
const olderUndelivered = (ahead: string) =>
  `select 1 from outbox p
    where p.entity_key = o.entity_key and p.delivered_at is null and p.id < o.id
      and p.event_id <> all(${ahead}::uuid[])`

/**
 * A write and its outbox rows as one statement: one round trip, one transaction. The result also
 * says which of the inserted events are ready for delivery (see `Written`); the check runs on the
 * statement's snapshot, in which none of the rows it inserts are visible yet.
 */
export const withOutbox = (w: OutboxWrite): Statement => {
  const n = w.params.length + 1
  const ahead = n + 1
  return {
    text: `with ${w.before ? `${w.before},` : ''}
      w as (${w.write}),
      o as (${insertRows(n, 'exists (select 1 from w)', w.ignoreRecorded ? 'on conflict (event_id) do nothing' : '')}
            returning id, event_id, entity_key)
      select w.*,
             (select coalesce(array_agg(o.event_id::text order by o.id), '{}')
                from o
               where not exists (${olderUndelivered(`$${ahead}`)})
             ) as outbox_ready
        from w`,
    params: [...w.params, outboxRows(w.events), [...(w.publishedAhead ?? [])]],
  }
}

const canBatch = (db: Queryable): db is Queryable & Pick<Db, 'batch'> =>
  typeof (db as Partial<Db>).batch === 'function'

/** The key locks and the write: one call (a batch transaction) on the request's Db. */
const runLocked = async <R>(db: Queryable, lock: Statement | undefined, statement: Statement) => {
  if (!lock) return db.query<R>(statement.text, statement.params)
  if (canBatch(db)) {
    const [, result] = await db.batch([lock, statement])
    return result as Rows<R>
  }
  await db.query(lock.text, lock.params)
  return db.query<R>(statement.text, statement.params)
}

/** Runs the write; a connection that reports its outbox writes is told what became ready. */
export const runWithOutbox = async <R>(db: Queryable & OutboxAware, w: OutboxWrite): Promise<Written<R>> => {
  const statement = withOutbox(w)
  const lock = lockEntityKeys(w.events)
  const { rows } = await runLocked<R & { outbox_ready: string[] }>(db, lock, statement)
  const ready = rows[0]?.outbox_ready ?? []
  if (rows.length > 0) db.outbox?.recorded(w.events, ready)
  return { rows: rows.map(({ outbox_ready: _, ...row }) => row as R), ready }
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

export const markDelivered = async (
  db: Queryable,
  acks: readonly { id: string; seq: number }[],
): Promise<void> => {
  if (acks.length === 0) return
  await db.query(
    `update outbox o
        set delivered_at = now(), stream_seq = x.seq, last_error = null
       from unnest($1::bigint[], $2::bigint[]) as x(id, seq)
      where o.id = x.id and o.delivered_at is null`,
    [acks.map((a) => a.id), acks.map((a) => a.seq)],
  )
}

export type Published = { event_id: string } & ({ seq: number } | { error: string; delayMs: number })

/**
 * Records what the bridge answered for events the post-commit delivery published, in one
 * statement: acked events are marked delivered, the others get their error and a retry time for
 * the drain. An acked event is not marked while an older event of its entity_key, other than
 * those acked with it, is still undelivered: the drain then delivers both in order (JetStream
 * drops the repeat by its id).
 */
export const recordPublished = async (db: Queryable, outcomes: readonly Published[]): Promise<number> => {
  if (outcomes.length === 0) return 0
  const acked = outcomes.flatMap((o) => ('seq' in o ? [o.event_id] : []))
  const { rowCount } = await db.query(
    `update outbox o
        set delivered_at = case when x.seq is null then null else now() end,
            stream_seq = x.seq,
            last_error = x.error,
            attempts = o.attempts + 1,
            next_attempt_at = case when x.seq is null
                                   then now() + x.delay_ms * interval '1 millisecond'
                                   else o.next_attempt_at end
       from unnest($1::uuid[], $2::bigint[], $3::text[], $4::int[]) as x(event_id, seq, error, delay_ms)
      where o.event_id = x.event_id
        and o.delivered_at is null
        and (x.seq is null
             or not exists (select 1 from outbox p
                             where p.entity_key = o.entity_key and p.delivered_at is null and p.id < o.id
                               and p.event_id <> all($5::uuid[])))`,
    [
      outcomes.map((o) => o.event_id),
      outcomes.map((o) => ('seq' in o ? o.seq : null)),
      outcomes.map((o) => ('seq' in o ? null : o.error.slice(0, 1_000))),
      outcomes.map((o) => ('seq' in o ? 0 : Math.round(o.delayMs))),
      acked,
    ],
  )
  return rowCount ?? 0
}

export interface HoldState {
  /** No older undelivered event of its entity holds it back any more, apart from the others asked about. */
  released: string[]
  /**
   * Held back by an event whose delivery failed and that waits for its backoff: not worth another
   * look. (Should a drain run have it leased right then, the event behind it waits for the next run.)
   */
  behindFailure: string[]
  /** Delivered meanwhile (by the drain). */
  delivered: string[]
}

/**
 * For events held back at commit, in one statement: which of them no older undelivered event of
 * their entity holds back now. The events asked about do not hold each other back: they are
 * published in order in one batch. Whatever holds back one event also holds back every later event
 * of its entity (its id is smaller still), so a released event never overtakes one that is not.
 */
export const holdStates = async (db: Queryable, eventIds: readonly string[]): Promise<HoldState> => {
  const { rows } = await db.query<{
    event_id: string
    delivered: boolean
    held: boolean
    behind_failure: boolean
  }>(
    `select o.event_id::text as event_id,
            o.delivered_at is not null as delivered,
            exists (${olderUndelivered('$1')}) as held,
            exists (${olderUndelivered('$1')}
                     and p.last_error is not null and p.next_attempt_at > now()) as behind_failure
       from outbox o
      where o.event_id = any($1::uuid[])`,
    [[...eventIds]],
  )
  const ids = (keep: (r: (typeof rows)[number]) => boolean) => rows.filter(keep).map((r) => r.event_id)
  return {
    released: ids((r) => !r.delivered && !r.held),
    behindFailure: ids((r) => !r.delivered && r.behind_failure),
    delivered: ids((r) => r.delivered),
  }
}

export const markFailed = async (
  db: Queryable,
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
