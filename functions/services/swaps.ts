import type { Pool } from '@neondatabase/serverless'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { errorBody, HttpError } from '../../shared/http-error'
import type { SwapRequest, SwapResponse } from '../../shared/swap'
import {
  type LibrarySwapCommand,
  type SwapOutcomeEventType,
  swapOutcomeEventId,
} from '../../shared/swap-execution'
import { insertEvents } from '../db/outbox'
import { isUniqueViolation, withTransaction } from '../db/pool'
import {
  attachIdempotencySwap,
  claimIdempotencyKey,
  completeIdempotencyKey,
  getIdempotencyKey,
  getSwap,
  insertSwap,
  type SwapOutcome,
  type SwapRow,
  settleSwap,
} from '../db/swaps'
import { evaluateSwap } from '../swaps/checks'
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
  | { kind: 'started'; swap: SwapRow; events: LibraryEvent[] }
  /** The key was used before and that request has finished: its reply is the answer. */
  | { kind: 'replay'; reply: SwapReply }
  /** The key is held by a request still in flight. */
  | { kind: 'in_progress' }

/**
 * Checks the swap, records it with `swap.initiated` and claims the Idempotency-Key, all in one
 * transaction: a check that fails leaves nothing behind, the key included.
 */
export const beginSwap = async (
  pool: Pool,
  request: SwapRequest,
  ctx: ActionContext,
  idempotencyKey?: string,
): Promise<SwapStart> => {
  const hash = idempotencyKey === undefined ? undefined : await requestHash(request)
  return withTransaction(pool, async (tx): Promise<SwapStart> => {
    if (idempotencyKey !== undefined && hash !== undefined) {
      const claimed = await claimIdempotencyKey(tx, ctx.actor, idempotencyKey, hash)
      if (!claimed) {
        const previous = await getIdempotencyKey(tx, ctx.actor, idempotencyKey)
        if (previous && previous.request_hash !== hash)
          throw new HttpError(
            422,
            'idempotency_key_reused',
            'This Idempotency-Key was used with a different request body',
            { idempotency_key: idempotencyKey },
          )
        if (previous?.status_code != null)
          return {
            kind: 'replay',
            reply: { status: previous.status_code as ContentfulStatusCode, body: previous.response },
          }
        return { kind: 'in_progress' }
      }
    }
    const evaluation = await evaluateSwap(tx, request)
    if (evaluation.failure) throw evaluation.failure
    const swap = await insertSwap(tx, {
      id: crypto.randomUUID(),
      from_entity_id: request.from_entity_id.toLowerCase(),
      to_entity_id: request.to_entity_id.toLowerCase(),
      reason: request.reason,
      initiated_by: request.initiated_by,
      validate_only: request.validate_only,
      actor: ctx.actor,
    })
    const event = createEvent({
      event_type: 'swap.initiated',
      swap_id: swap.id,
      data: {
        from_entity_id: swap.from_entity_id,
        to_entity_id: swap.to_entity_id,
        reason: swap.reason,
        initiated_by: swap.initiated_by,
        validate_only: swap.validate_only,
      },
      metadata: eventMetadata(ctx),
    })
    await insertEvents(tx, [event])
    if (idempotencyKey !== undefined) await attachIdempotencySwap(tx, ctx.actor, idempotencyKey, swap.id)
    return { kind: 'started', swap, events: [event] }
  })
}

/** Reads the reply stored under a key, once the request holding it has finished. */
export const storedReply = async (pool: Pool, actor: string, key: string): Promise<SwapReply | undefined> => {
  const record = await getIdempotencyKey(pool, actor, key)
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
 * Turns the executor's answer into the swap's state and event. A swap that was settled meanwhile
 * (its late outcome event arrived first) keeps that state.
 */
export const finishSwap = async (
  pool: Pool,
  swap: SwapRow,
  outcome: RelayOutcome,
  ctx: ActionContext,
  idempotencyKey?: string,
): Promise<{ reply: SwapReply; events: LibraryEvent[] }> => {
  const { state, event, reply } = await interpret(swap, outcome, ctx)
  return withTransaction(pool, async (tx) => {
    const current = await getSwap(tx, swap.id, { forUpdate: true })
    const events: LibraryEvent[] = []
    // unknown: the Cron Trigger took this request for dead; its answer still counts
    if (current?.status === 'pending' || current?.status === 'unknown') {
      await settleSwap(tx, swap.id, state)
      if (event) events.push(event)
      await insertEvents(tx, events)
    }
    if (idempotencyKey !== undefined)
      await completeIdempotencyKey(tx, ctx.actor, idempotencyKey, reply.status, reply.body)
    return { reply, events }
  })
}

export const checkRollback = async (pool: Pool, id: string): Promise<SwapRow> => {
  const swap = await getSwap(pool, id)
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
  pool: Pool,
  swap: SwapRow,
  outcome: RelayOutcome,
  reason: string,
  ctx: ActionContext,
): Promise<{ reply: SwapReply; events: LibraryEvent[] }> => {
  const unchanged = (status: ContentfulStatusCode, code: string, message: string) => ({
    reply: failure(status, code, message, swap, swap.status, ctx),
    events: [],
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
  return withTransaction(pool, async (tx) => {
    const current = await getSwap(tx, swap.id, { forUpdate: true })
    if (current?.status !== 'completed') return { reply: { status: 200, body: response }, events: [] }
    await settleSwap(tx, swap.id, {
      status: 'rolled_back',
      message: response.message,
      error_code: null,
      executor_response: response,
    })
    await insertEvents(tx, [event])
    return { reply: { status: 200 as ContentfulStatusCode, body: response }, events: [event] }
  })
}

const SETTLES: Record<SwapOutcomeEventType, { from: readonly string[]; to: SwapOutcome['status'] }> = {
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
 * nothing. The event is recorded in the outbox under its own id, which JetStream already holds.
 */
export const reconcileSwapEvent = async (
  pool: Pool,
  event: LibraryEvent,
): Promise<Reconciliation | undefined> => {
  if (
    event.event_type !== 'swap.completed' &&
    event.event_type !== 'swap.failed' &&
    event.event_type !== 'swap.rolled_back'
  )
    return undefined
  const rule = SETTLES[event.event_type]
  const swapId = event.swap_id.toLowerCase()
  return withTransaction(pool, async (tx) => {
    const swap = await getSwap(tx, swapId, { forUpdate: true })
    if (!swap) return { settled: false, swap_id: swapId }
    if (!rule.from.includes(swap.status)) return { settled: false, swap_id: swapId, status: swap.status }
    const data = event.data as { message?: unknown; error_code?: unknown }
    const message = typeof data.message === 'string' ? data.message : `settled by ${event.event_type}`
    const updated = await settleSwap(tx, swapId, {
      status: rule.to,
      message,
      error_code:
        event.event_type === 'swap.failed'
          ? typeof data.error_code === 'string'
            ? data.error_code
            : 'executor_failed'
          : null,
    })
    await tx.query('savepoint reconcile_event')
    try {
      await insertEvents(tx, [event])
    } catch (err) {
      // already recorded under this event_id: the state change above is all that was missing
      if (!isUniqueViolation(err, 'outbox_event_id_key')) throw err
      await tx.query('rollback to savepoint reconcile_event')
    }
    return { settled: true, swap_id: swapId, status: updated.status }
  })
}
