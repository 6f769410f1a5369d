import type { LibraryEvent } from '../../shared/events'
import type { SwapStatus } from '../domain/swap-state'
import { runWithOutbox, type Written } from './outbox'
import { toPage } from './page'
import type { Queryable, Statement } from './sql'

export interface SwapRow {
  id: string
  seq: string
  from_entity_id: string
  to_entity_id: string
  reason: string
  initiated_by: string
  validate_only: boolean
  status: SwapStatus
  message: string | null
  error_code: string | null
  validation_results: Record<string, unknown> | null
  executor_response: Record<string, unknown> | null
  actor: string
  created_at: Date
  updated_at: Date
  settled_at: Date | null
  rolled_back_at: Date | null
}

const COLUMNS = `id, seq::text as seq, from_entity_id, to_entity_id, reason, initiated_by, validate_only, status,
  message, error_code, validation_results, executor_response, actor, created_at, updated_at, settled_at,
  rolled_back_at`

export interface NewSwap {
  id: string
  from_entity_id: string
  to_entity_id: string
  reason: string
  initiated_by: string
  validate_only: boolean
  actor: string
}

export interface KeyClaim {
  actor: string
  key: string
  requestHash: string
}

/**
 * Records the swap and its events in one statement, claiming the Idempotency-Key (if any) for it
 * in the same one. No rows: another request holds the key (see `getIdempotencyKey`).
 */
export const insertSwap = (
  db: Queryable,
  swap: NewSwap,
  claim: KeyClaim | undefined,
  events: readonly LibraryEvent[],
): Promise<Written<SwapRow>> =>
  runWithOutbox<SwapRow>(db, {
    before: `k as (insert into swap_idempotency_keys (actor, key, request_hash, swap_id)
                   select $8::text, $9::text, $10::text, $1::uuid where $9::text is not null
                   on conflict (actor, key) do nothing
                   returning 1)`,
    write: `insert into swaps (id, from_entity_id, to_entity_id, reason, initiated_by, validate_only, actor)
            select $1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::boolean, $7::text
             where $9::text is null or exists (select 1 from k)
            returning ${COLUMNS}`,
    params: [
      swap.id,
      swap.from_entity_id,
      swap.to_entity_id,
      swap.reason,
      swap.initiated_by,
      swap.validate_only,
      swap.actor,
      claim?.actor ?? null,
      claim?.key ?? null,
      claim?.requestHash ?? null,
    ],
    events,
  })

export const getSwap = async (db: Queryable, id: string): Promise<SwapRow | null> => {
  const { rows } = await db.query<SwapRow>(`select ${COLUMNS} from swaps where id = $1`, [id])
  return rows[0] ?? null
}

export interface SwapOutcome {
  status: SwapStatus
  message: string | null
  error_code: string | null
  validation_results?: Record<string, unknown> | null
  executor_response?: Record<string, unknown> | null
}

export interface KeyAnswer {
  actor: string
  key: string
  statusCode: number
  response: unknown
}

/**
 * Settles the swap, if it is still in one of `from`, with its events, and stores the answer under
 * the Idempotency-Key whatever the swap's state: one statement. No rows: the swap had moved on.
 */
export const settleSwap = (
  db: Queryable,
  move: { id: string; from: readonly SwapStatus[] },
  outcome: SwapOutcome,
  events: readonly LibraryEvent[],
  options: { answer?: KeyAnswer; ignoreRecorded?: boolean; publishedAhead?: readonly string[] } = {},
): Promise<Written<SwapRow>> =>
  runWithOutbox<SwapRow>(db, {
    before: `k as (update swap_idempotency_keys
                      set status_code = $10::int, response = $11::jsonb, completed_at = now()
                    where $9::text is not null and actor = $8::text and key = $9::text
                    returning 1)`,
    write: `update swaps
               set status = $2,
                   message = $3,
                   error_code = $4,
                   validation_results = coalesce($5::jsonb, validation_results),
                   executor_response = coalesce($6::jsonb, executor_response),
                   updated_at = now(),
                   settled_at = case when $2 in ('pending', 'unknown') then null else now() end,
                   rolled_back_at = case when $2 = 'rolled_back' then now() else rolled_back_at end
             where id = $1 and status = any($7::text[])
            returning ${COLUMNS}`,
    params: [
      move.id,
      outcome.status,
      outcome.message,
      outcome.error_code,
      outcome.validation_results == null ? null : JSON.stringify(outcome.validation_results),
      outcome.executor_response == null ? null : JSON.stringify(outcome.executor_response),
      [...move.from],
      options.answer?.actor ?? null,
      options.answer?.key ?? null,
      options.answer?.statusCode ?? null,
      options.answer === undefined ? null : JSON.stringify(options.answer.response),
    ],
    events,
    ignoreRecorded: options.ignoreRecorded,
    publishedAhead: options.publishedAhead,
  })

export interface SwapFilters {
  status?: SwapStatus
  entityId?: string
  afterSeq?: string
  limit: number
}

export const listSwaps = async (
  db: Queryable,
  filters: SwapFilters,
): Promise<{ rows: SwapRow[]; nextSeq: string | null }> => {
  const { rows } = await db.query<SwapRow>(
    `select ${COLUMNS} from swaps
      where ($1::text is null or status = $1)
        and ($2::uuid is null or from_entity_id = $2 or to_entity_id = $2)
        and ($3::bigint is null or seq > $3::bigint)
      order by swaps.seq
      limit $4`,
    [filters.status ?? null, filters.entityId ?? null, filters.afterSeq ?? null, filters.limit + 1],
  )
  return toPage(rows, filters.limit)
}

export interface IdempotencyRecord {
  request_hash: string
  swap_id: string | null
  status_code: number | null
  response: unknown
}

export const idempotencyKeyQuery = (actor: string, key: string): Statement => ({
  text: `select request_hash, swap_id, status_code, response from swap_idempotency_keys where actor = $1 and key = $2`,
  params: [actor, key],
})

export const getIdempotencyKey = async (
  db: Queryable,
  actor: string,
  key: string,
): Promise<IdempotencyRecord | null> => {
  const q = idempotencyKeyQuery(actor, key)
  const { rows } = await db.query<IdempotencyRecord>(q.text, q.params)
  return rows[0] ?? null
}

export const completeIdempotencyKey = async (
  tx: Queryable,
  actor: string,
  key: string,
  statusCode: number,
  response: unknown,
) => {
  await tx.query(
    `update swap_idempotency_keys
        set status_code = $3, response = $4, completed_at = now()
      where actor = $1 and key = $2`,
    [actor, key, statusCode, JSON.stringify(response)],
  )
}

/** Marks up to `limit` swaps pending for longer than `olderThanMs` as unknown; returns their ids. */
export const expirePendingSwaps = async (
  tx: Queryable,
  olderThanMs: number,
  outcome: { message: string; error_code: string },
  limit: number,
): Promise<string[]> => {
  const { rows } = await tx.query<{ id: string }>(
    `update swaps
        set status = 'unknown', message = $2, error_code = $3, updated_at = now()
      where id in (select id
                     from swaps
                    where status = 'pending' and created_at < now() - $1::int * interval '1 millisecond'
                    order by created_at
                    limit $4
                      for update skip locked)
      returning id`,
    [olderThanMs, outcome.message, outcome.error_code, limit],
  )
  return rows.map((r) => r.id)
}

export interface UnfinishedIdempotencyKey {
  actor: string
  key: string
  swap_id: string | null
  swap_status: SwapStatus | null
}

/** Idempotency keys claimed more than `olderThanMs` ago whose request never stored a response. */
export const lockUnfinishedIdempotencyKeys = async (
  tx: Queryable,
  olderThanMs: number,
  limit: number,
): Promise<UnfinishedIdempotencyKey[]> => {
  const { rows } = await tx.query<UnfinishedIdempotencyKey>(
    `select k.actor, k.key, k.swap_id, s.status as swap_status
       from swap_idempotency_keys k
       left join swaps s on s.id = k.swap_id
      where k.status_code is null and k.created_at < now() - $1::int * interval '1 millisecond'
      order by k.created_at
      limit $2
        for update of k skip locked`,
    [olderThanMs, limit],
  )
  return rows
}
