import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { errorBody, HttpError } from '../../shared/http-error'
import type { SwapRequest, SwapResponse } from '../../shared/swap'
import {
  type LibrarySwapCommand,
  type SwapOutcomeEventType,
  swapOutcomeEventId,
} from '../../shared/swap-execution'
import { type EntityRow, entitiesQuery } from '../db/entities'
import type { Db, Queryable } from '../db/sql'
import {
  getIdempotencyKey,
  getSwap,
  type IdempotencyRecord,
  idempotencyKeyQuery,
  insertSwap,
  type SwapOutcome,
  type SwapRow,
  type SwapStatus,
  settleSwap,
} from '../db/swaps'
import { judgeSwap, swapEntityIds } from '../swaps/checks'
import type { RelayOutcome } from '../swaps/relay'
import { type ActionContext, eventMetadata } from './context'

export interface SwapReply {
  status: ContentfulStatusCode
  body: unknown
}

export const swapNotFound = (id: string) =>
  new HttpError(404, 'swap_not_found', `No swap with id ${id}`, { swap_id: id })

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

/** Stable over key order and id case, so a retry of the same request hashes the same. */
const requestHash = async (request: SwapRequest): Promise<string> => {
  const canonical = JSON.stringify([
    request.from_entity_id.toLowerCase(),
    request.to_entity_id.toLowerCase(),
    request.reason,
    request.initiated_by,
    request.validate_only,
  ])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

export type SwapStart =
  | { kind: 'started'; swap: SwapRow; events: LibraryEvent[]; ready: readonly string[] }
  /** The key was used before and that request has finished: its reply is the answer. */
  | { kind: 'replay'; reply: SwapReply }
  /** The key is held by a request still in flight. */
  | { kind: 'in_progress' }

/** What a key already held means for a request that carries it. */
const heldKey = (previous: IdempotencyRecord | null, hash: string, key: string): SwapStart => {
  if (previous && previous.request_hash !== hash)
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request body',
      {
        idempotency_key: key,
      },
    )
  if (previous?.status_code != null)
    return {
      kind: 'replay',
      reply: { status: previous.status_code as ContentfulStatusCode, body: previous.response },
    }
  return { kind: 'in_progress' }
}

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
  if (row) return { kind: 'started', swap: row, events: [event], ready: written.ready }
  // a concurrent request claimed the key between the read and the write
  return heldKey(await getIdempotencyKey(db, claim!.actor, claim!.key), claim!.requestHash, claim!.key)
}

/** Reads the reply stored under a key, once the request holding it has finished. */
export const storedReply = async (
  db: Queryable,
  actor: string,
  key: string,
): Promise<SwapReply | undefined> => {
  const record = await getIdempotencyKey(db, actor, key)
  return record?.status_code == null
    ? undefined
    : { status: record.status_code as ContentfulStatusCode, body: record.response }
}

const outcomeEvent = async (
  swap: SwapRow,
  type: SwapOutcomeEventType | 'swap.validated',
  fields: {
    message: string
    status?: string
    error_code?: string
    valid?: boolean
    reason?: string
    results?: unknown
  },
  ctx: ActionContext,
): Promise<LibraryEvent> => {
  const parties = { from_entity_id: swap.from_entity_id, to_entity_id: swap.to_entity_id }
  const common = { swap_id: swap.id, metadata: eventMetadata(ctx) }
  switch (type) {
    case 'swap.validated':
      return createEvent({
        ...common,
        event_type: type,
        data: {
          ...parties,
          valid: fields.valid ?? false,
          message: fields.message,
          validation_results: (fields.results as Record<string, unknown> | null | undefined) ?? null,
        },
      })
    case 'swap.completed':
      return createEvent({
        ...common,
        event_id: await swapOutcomeEventId(swap.id, type),
        event_type: type,
        data: { ...parties, status: fields.status, message: fields.message },
      })
    case 'swap.failed':
      return createEvent({
        ...common,
        event_id: await swapOutcomeEventId(swap.id, type),
        event_type: type,
        data: { ...parties, status: fields.status, message: fields.message, error_code: fields.error_code },
      })
    case 'swap.rolled_back':
      return createEvent({
        ...common,
        event_id: await swapOutcomeEventId(swap.id, type),
        event_type: type,
        data: { ...parties, reason: fields.reason ?? swap.reason, message: fields.message },
      })
  }
}

const failure = (
  status: ContentfulStatusCode,
  code: string,
  message: string,
  swap: SwapRow,
  swapStatus: string,
  ctx: ActionContext,
): SwapReply => ({
  status,
  body: errorBody(code, message, ctx.requestId, { swap_id: swap.id, status: swapStatus }),
})

/** What a relay outcome means for the swap: its next state, the event to emit and the HTTP reply. */
const interpret = async (
  swap: SwapRow,
  outcome: RelayOutcome,
  ctx: ActionContext,
): Promise<{ state: SwapOutcome; event?: LibraryEvent; reply: SwapReply }> => {
  const failed = async (code: string, message: string, status: ContentfulStatusCode) => ({
    state: { status: 'failed' as const, message, error_code: code },
    event: await outcomeEvent(swap, 'swap.failed', { message, status: 'failed', error_code: code }, ctx),
    reply: failure(status, code, message, swap, 'failed', ctx),
  })
  switch (outcome.kind) {
    case 'reply': {
      const r: SwapResponse = outcome.response
      const common = {
        message: r.message,
        error_code: r.success ? null : 'executor_rejected',
        validation_results: r.validation_results ?? null,
        executor_response: r,
      }
      const reply: SwapReply = { status: 200, body: r }
      if (swap.validate_only)
        return {
          state: { ...common, status: r.success ? 'validated' : 'rejected' },
          event: await outcomeEvent(
            swap,
            'swap.validated',
            { valid: r.success, message: r.message, results: r.validation_results },
            ctx,
          ),
          reply,
        }
      return {
        state: { ...common, status: r.success ? 'completed' : 'failed' },
        event: await outcomeEvent(
          swap,
          r.success ? 'swap.completed' : 'swap.failed',
          { message: r.message, status: r.status, error_code: r.success ? undefined : 'executor_rejected' },
          ctx,
        ),
        reply,
      }
    }
    case 'no_responders':
      return failed('no_responders', 'No swap executor is listening on library.swap.command', 503)
    case 'invalid_reply':
      return failed('invalid_executor_reply', outcome.message, 502)
    case 'unavailable':
      return failed('bridge_unavailable', outcome.message, 503)
    case 'timeout': {
      const message = 'The swap executor did not answer in time; the swap may still complete'
      return {
        state: { status: 'unknown', message, error_code: 'timeout' },
        reply: failure(504, 'timeout', message, swap, 'unknown', ctx),
      }
    }
  }
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
): Promise<{ reply: SwapReply; events: LibraryEvent[]; ready: readonly string[] }> => {
  const { state, event, reply } = await interpret(swap, outcome, ctx)
  const events = event ? [event] : []
  const written = await settleSwap(
    db,
    // unknown: the Cron Trigger took this request for dead; its answer still counts
    { id: swap.id, from: ['pending', 'unknown'] },
    state,
    events,
    {
      answer:
        idempotencyKey === undefined
          ? undefined
          : { actor: ctx.actor, key: idempotencyKey, statusCode: reply.status, response: reply.body },
      publishedAhead,
    },
  )
  return written.rows.length > 0 ? { reply, events, ready: written.ready } : { reply, events: [], ready: [] }
}

export const checkRollback = async (db: Queryable, id: string): Promise<SwapRow> => {
  const swap = await getSwap(db, id)
  if (!swap) throw swapNotFound(id)
  if (swap.status !== 'completed')
    throw new HttpError(409, 'invalid_transition', `Cannot roll back a swap that is ${swap.status}`, {
      swap_id: id,
      current_status: swap.status,
      allowed_from: ['completed'],
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
): Promise<{ reply: SwapReply; events: LibraryEvent[]; ready: readonly string[] }> => {
  const unchanged = (status: ContentfulStatusCode, code: string, message: string) => ({
    reply: failure(status, code, message, swap, swap.status, ctx),
    events: [],
    ready: [],
  })
  switch (outcome.kind) {
    case 'no_responders':
      return unchanged(503, 'no_responders', 'No swap executor is listening on library.swap.command')
    case 'timeout':
      return unchanged(504, 'timeout', 'The swap executor did not confirm the rollback in time')
    case 'invalid_reply':
      return unchanged(502, 'invalid_executor_reply', outcome.message)
    case 'unavailable':
      return unchanged(503, 'bridge_unavailable', outcome.message)
    case 'reply':
      break
  }
  const response = outcome.response
  if (!response.success) return unchanged(502, 'rollback_rejected', response.message)
  const event = await outcomeEvent(swap, 'swap.rolled_back', { message: response.message, reason }, ctx)
  const written = await settleSwap(
    db,
    { id: swap.id, from: ['completed'] },
    { status: 'rolled_back', message: response.message, error_code: null, executor_response: response },
    [event],
  )
  const reply = { status: 200 as ContentfulStatusCode, body: response }
  return written.rows.length > 0
    ? { reply, events: [event], ready: written.ready }
    : { reply, events: [], ready: [] }
}

const SETTLES: Record<SwapOutcomeEventType, { from: readonly SwapStatus[]; to: SwapOutcome['status'] }> = {
  'swap.completed': { from: ['pending', 'unknown'], to: 'completed' },
  'swap.failed': { from: ['pending', 'unknown'], to: 'failed' },
  'swap.rolled_back': { from: ['completed'], to: 'rolled_back' },
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
): Promise<(Reconciliation & { ready?: readonly string[] }) | undefined> => {
  if (
    event.event_type !== 'swap.completed' &&
    event.event_type !== 'swap.failed' &&
    event.event_type !== 'swap.rolled_back'
  )
    return undefined
  const rule = SETTLES[event.event_type]
  const swapId = event.swap_id.toLowerCase()
  const data = event.data as { message?: unknown; error_code?: unknown }
  const message = typeof data.message === 'string' ? data.message : `settled by ${event.event_type}`
  const written = await settleSwap(
    db,
    { id: swapId, from: rule.from },
    {
      status: rule.to,
      message,
      error_code:
        event.event_type === 'swap.failed'
          ? typeof data.error_code === 'string'
            ? data.error_code
            : 'executor_failed'
          : null,
    },
    [event],
    // already recorded under this event_id: the state change is all that was missing
    { ignoreRecorded: true },
  )
  const updated = written.rows[0]
  if (updated) return { settled: true, swap_id: swapId, status: updated.status, ready: written.ready }
  const swap = await getSwap(db, swapId)
  return swap ? { settled: false, swap_id: swapId, status: swap.status } : { settled: false, swap_id: swapId }
}
