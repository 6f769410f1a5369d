import * as v from 'valibot'
import { IsoTimestamp, JsonObject, Uuid } from '../../shared/domain'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { HttpError } from '../../shared/http-error'
import type { SwapRequest } from '../../shared/swap'
import type { LibrarySwapCommand } from '../../shared/swap-execution'
import { type EntityRow, entitiesQuery } from '../db/entities'
import type { Db, Queryable } from '../db/sql'
import {
  getIdempotencyKey,
  getSwap,
  type IdempotencyRecord,
  idempotencyKeyQuery,
  insertSwap,
  type SwapRow,
  settleSwap,
} from '../db/swaps'
import { ANSWERABLE_FROM, ROLLBACK_FROM, SWAP_STATUSES } from '../domain/swap-state'
import { judgeSwap, swapEntityIds } from '../swaps/checks'
import { type HeldKey, heldKey, requestHash } from '../swaps/idempotency'
import { interpret, interpretRollback, type SwapReply, settlementOf } from '../swaps/outcome'
import type { RelayOutcome } from '../swaps/relay'
import { type ActionContext, eventMetadata } from './context'

export const swapNotFound = (id: string) =>
  new HttpError(404, 'swap_not_found', `No swap with id ${id}`, { swap_id: id })

/** A swap as the API answers it (`swapView`), for the OpenAPI document. */
export const SwapView = v.object({
  swap_id: Uuid,
  from_entity_id: Uuid,
  to_entity_id: Uuid,
  reason: v.string(),
  initiated_by: v.string(),
  validate_only: v.boolean(),
  status: v.picklist(SWAP_STATUSES),
  message: v.nullable(v.string()),
  error_code: v.nullable(v.string()),
  validation_results: v.nullable(JsonObject),
  executor_response: v.nullable(JsonObject),
  actor: v.string(),
  created_at: IsoTimestamp,
  updated_at: IsoTimestamp,
  settled_at: v.nullable(IsoTimestamp),
  rolled_back_at: v.nullable(IsoTimestamp),
})

export const swapView = (s: SwapRow) => ({
  swap_id: s.id,
  from_entity_id: s.from_entity_id,
  to_entity_id: s.to_entity_id,
  reason: s.reason,
  initiated_by: s.initiated_by,
  validate_only: s.validate_only,
  status: s.status,
  message: s.message,
  error_code: s.error_code,
  validation_results: s.validation_results,
  executor_response: s.executor_response,
  actor: s.actor,
  created_at: s.created_at.toISOString(),
  updated_at: s.updated_at.toISOString(),
  settled_at: s.settled_at?.toISOString() ?? null,
  rolled_back_at: s.rolled_back_at?.toISOString() ?? null,
})

export const commandFor = (
  swap: SwapRow,
  action: 'execute' | 'rollback',
  timeoutMs: number,
  reason = swap.reason,
): LibrarySwapCommand => ({
  swap_id: swap.id,
  from_entity_id: swap.from_entity_id,
  to_entity_id: swap.to_entity_id,
  reason,
  initiated_by: swap.initiated_by,
  validate_only: swap.validate_only,
  action,
  reply_timeout_ms: timeoutMs,
})

export type SwapStart = { kind: 'started'; swap: SwapRow; ready: readonly string[] } | HeldKey

/**
 * Reads the key's record and both entities in one call, then records the swap with `swap.initiated`
 * and claims the Idempotency-Key in one statement: a check that fails leaves nothing behind, the key
 * included. A key claimed meanwhile by a concurrent request is read once more.
 */
export const beginSwap = async (
  db: Db,
  request: SwapRequest,
  ctx: ActionContext,
  idempotencyKey?: string,
): Promise<SwapStart> => {
  const claim =
    idempotencyKey === undefined
      ? undefined
      : { actor: ctx.actor, key: idempotencyKey, requestHash: await requestHash(request) }
  const reads = [entitiesQuery(swapEntityIds(request))]
  if (claim) reads.push(idempotencyKeyQuery(claim.actor, claim.key))
  const [entities, key] = await db.batch(reads)
  const previous = (key?.rows[0] as IdempotencyRecord | undefined) ?? null
  if (claim && previous) return heldKey(previous, claim.requestHash, claim.key)
  const evaluation = judgeSwap(request, (entities?.rows ?? []) as unknown as EntityRow[])
  if (evaluation.failure) throw evaluation.failure
  const swapId = crypto.randomUUID()
  const swap = {
    id: swapId,
    from_entity_id: request.from_entity_id.toLowerCase(),
    to_entity_id: request.to_entity_id.toLowerCase(),
    reason: request.reason,
    initiated_by: request.initiated_by,
    validate_only: request.validate_only,
    actor: ctx.actor,
  }
  const event = createEvent({
    event_type: 'swap.initiated',
    swap_id: swapId,
    data: {
      from_entity_id: swap.from_entity_id,
      to_entity_id: swap.to_entity_id,
      reason: swap.reason,
      initiated_by: swap.initiated_by,
      validate_only: swap.validate_only,
    },
    metadata: eventMetadata(ctx),
  })
  const written = await insertSwap(db, swap, claim, [event])
  const row = written.rows[0]
  if (row) return { kind: 'started', swap: row, ready: written.ready }
  // a concurrent request claimed the key between the read and the write
  return heldKey(await getIdempotencyKey(db, claim!.actor, claim!.key), claim!.requestHash, claim!.key)
}

/**
 * Turns the executor's answer into the swap's state and event, and stores the reply under the
 * Idempotency-Key, in one statement. A swap that was settled meanwhile (its late outcome event
 * arrived first) keeps that state.
 */
export const finishSwap = async (
  db: Queryable,
  swap: SwapRow,
  outcome: RelayOutcome,
  ctx: ActionContext,
  idempotencyKey?: string,
  /** Events of this request published in the same batch ahead of this one (its swap.initiated). */
  publishedAhead: readonly string[] = [],
): Promise<SwapReply> => {
  const { state, event, reply } = await interpret(swap, outcome, ctx)
  await settleSwap(db, { id: swap.id, from: ANSWERABLE_FROM }, state, event ? [event] : [], {
    answer:
      idempotencyKey === undefined
        ? undefined
        : { actor: ctx.actor, key: idempotencyKey, statusCode: reply.status, response: reply.body },
    publishedAhead,
  })
  return reply
}

export const checkRollback = async (db: Queryable, id: string): Promise<SwapRow> => {
  const swap = await getSwap(db, id)
  if (!swap) throw swapNotFound(id)
  if (!ROLLBACK_FROM.includes(swap.status))
    throw new HttpError(409, 'invalid_transition', `Cannot roll back a swap that is ${swap.status}`, {
      swap_id: id,
      current_status: swap.status,
      allowed_from: ROLLBACK_FROM,
    })
  return swap
}

/** A rollback changes the swap only when the executor confirms it; otherwise it stays completed. */
export const finishRollback = async (
  db: Queryable,
  swap: SwapRow,
  outcome: RelayOutcome,
  reason: string,
  ctx: ActionContext,
): Promise<SwapReply> => {
  const { state, event, reply } = await interpretRollback(swap, outcome, reason, ctx)
  if (state && event) await settleSwap(db, { id: swap.id, from: ROLLBACK_FROM }, state, [event])
  return reply
}

export interface Reconciliation {
  settled: boolean
  swap_id: string
  status?: string
}

/**
 * Applies a swap outcome event an executor published itself (it finished after the Library
 * stopped waiting). Idempotent: a swap already settled, or an event we emitted ourselves, changes
 * nothing. The event is recorded in the outbox under its own id, which JetStream already holds;
 * one statement, and a read only when it changed nothing.
 */
export const reconcileSwapEvent = async (
  db: Queryable,
  event: LibraryEvent,
): Promise<Reconciliation | undefined> => {
  const settlement = settlementOf(event)
  if (!settlement) return undefined
  const { swapId } = settlement
  const written = await settleSwap(
    db,
    { id: swapId, from: settlement.from },
    settlement.state,
    [event],
    // already recorded under this event_id: the state change is all that was missing
    { ignoreRecorded: true },
  )
  const updated = written.rows[0]
  if (updated) return { settled: true, swap_id: swapId, status: updated.status }
  const swap = await getSwap(db, swapId)
  return swap ? { settled: false, swap_id: swapId, status: swap.status } : { settled: false, swap_id: swapId }
}
