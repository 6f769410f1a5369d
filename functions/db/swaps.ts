import type { PoolClient } from '@neondatabase/serverless'
import { toPage } from './page'
import type { Db } from './pool'

export const SWAP_STATUSES = [
  'pending',
  'validated',
  'rejected',
  'completed',
  'failed',
  'unknown',
  'rolled_back',
] as const
export type SwapStatus = (typeof SWAP_STATUSES)[number]

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

export const insertSwap = async (tx: PoolClient, swap: NewSwap): Promise<SwapRow> => {
  const { rows } = await tx.query<SwapRow>(
    `insert into swaps (id, from_entity_id, to_entity_id, reason, initiated_by, validate_only, actor)
     values ($1, $2, $3, $4, $5, $6, $7)
     returning ${COLUMNS}`,
    [
      swap.id,
      swap.from_entity_id,
      swap.to_entity_id,
      swap.reason,
      swap.initiated_by,
      swap.validate_only,
      swap.actor,
    ],
  )
  return rows[0]!
}

export const getSwap = async (
  db: Db,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<SwapRow | null> => {
  const { rows } = await db.query<SwapRow>(
    `select ${COLUMNS} from swaps where id = $1 ${options.forUpdate ? 'for update' : ''}`,
    [id],
  )
  return rows[0] ?? null
}

export interface SwapOutcome {
  status: SwapStatus
  message: string | null
  error_code: string | null
  validation_results?: Record<string, unknown> | null
  executor_response?: Record<string, unknown> | null
}

export const settleSwap = async (tx: PoolClient, id: string, outcome: SwapOutcome): Promise<SwapRow> => {
  const { rows } = await tx.query<SwapRow>(
    `update swaps
        set status = $2,
            message = $3,
            error_code = $4,
            validation_results = coalesce($5::jsonb, validation_results),
            executor_response = coalesce($6::jsonb, executor_response),
            updated_at = now(),
            settled_at = case when $2 in ('pending', 'unknown') then null else now() end,
            rolled_back_at = case when $2 = 'rolled_back' then now() else rolled_back_at end
      where id = $1
      returning ${COLUMNS}`,
    [
      id,
      outcome.status,
      outcome.message,
      outcome.error_code,
      outcome.validation_results == null ? null : JSON.stringify(outcome.validation_results),
      outcome.executor_response == null ? null : JSON.stringify(outcome.executor_response),
    ],
  )
  return rows[0]!
}

export interface SwapFilters {
  status?: SwapStatus
  entityId?: string
  afterSeq?: string
  limit: number
}

export const listSwaps = async (
  db: Db,
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

/** Claims the key for this request; null when another request holds it (that one is returned by `getIdempotencyKey`). */
export const claimIdempotencyKey = async (
  tx: PoolClient,
  actor: string,
  key: string,
  requestHash: string,
): Promise<boolean> => {
  const { rowCount } = await tx.query(
    `insert into swap_idempotency_keys (actor, key, request_hash) values ($1, $2, $3)
     on conflict (actor, key) do nothing`,
    [actor, key, requestHash],
  )
  return rowCount === 1
}

export const getIdempotencyKey = async (
  db: Db,
  actor: string,
  key: string,
): Promise<IdempotencyRecord | null> => {
  const { rows } = await db.query<IdempotencyRecord>(
    `select request_hash, swap_id, status_code, response from swap_idempotency_keys where actor = $1 and key = $2`,
    [actor, key],
  )
  return rows[0] ?? null
}

export const attachIdempotencySwap = async (tx: PoolClient, actor: string, key: string, swapId: string) => {
  await tx.query(`update swap_idempotency_keys set swap_id = $3 where actor = $1 and key = $2`, [
    actor,
    key,
    swapId,
  ])
}

export const completeIdempotencyKey = async (
  tx: PoolClient,
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
  tx: PoolClient,
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
  tx: PoolClient,
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
