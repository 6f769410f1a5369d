import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { errorBody } from '../../shared/http-error'
import type { SwapResponse } from '../../shared/swap'
import { type SwapOutcomeEventType, swapOutcomeEventId } from '../../shared/swap-execution'
import type { SwapOutcome, SwapRow } from '../db/swaps'
import { isOutcomeEventType, SETTLES } from '../domain/swap-state'
import { type ActionContext, eventMetadata } from '../services/context'
import type { RelayOutcome } from './relay'

/** What the outcome of a swap means, without the database: state, event and HTTP reply. */

export interface SwapReply {
  status: ContentfulStatusCode
  body: unknown
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

const NO_RESPONDERS = 'No swap executor is listening on library.swap.command'

/** What a relay outcome means for the swap: its next state, the event to emit and the HTTP reply. */
export const interpret = async (
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
      return failed('no_responders', NO_RESPONDERS, 503)
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
 * What the executor's answer to a rollback means: only a confirmation changes the swap (to
 * rolled_back, with its event); anything else leaves it as it is and says why.
 */
export const interpretRollback = async (
  swap: SwapRow,
  outcome: RelayOutcome,
  reason: string,
  ctx: ActionContext,
): Promise<{ state?: SwapOutcome; event?: LibraryEvent; reply: SwapReply }> => {
  const unchanged = (status: ContentfulStatusCode, code: string, message: string) => ({
    reply: failure(status, code, message, swap, swap.status, ctx),
  })
  switch (outcome.kind) {
    case 'no_responders':
      return unchanged(503, 'no_responders', NO_RESPONDERS)
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
  return {
    state: {
      status: 'rolled_back',
      message: response.message,
      error_code: null,
      executor_response: response,
    },
    event: await outcomeEvent(swap, 'swap.rolled_back', { message: response.message, reason }, ctx),
    reply: { status: 200, body: response },
  }
}

/**
 * Whether an outcome event an executor published itself settles a swap: from which statuses, into
 * which state. Other event types settle nothing.
 */
export const settlementOf = (
  event: LibraryEvent,
): { swapId: string; from: SwapOutcome['status'][]; state: SwapOutcome } | undefined => {
  if (!isOutcomeEventType(event.event_type) || !('swap_id' in event) || typeof event.swap_id !== 'string')
    return undefined
  const rule = SETTLES[event.event_type]
  const data = event.data as { message?: unknown; error_code?: unknown }
  return {
    swapId: event.swap_id.toLowerCase(),
    from: [...rule.from],
    state: {
      status: rule.to,
      message: typeof data.message === 'string' ? data.message : `settled by ${event.event_type}`,
      error_code:
        event.event_type === 'swap.failed'
          ? typeof data.error_code === 'string'
            ? data.error_code
            : 'executor_failed'
          : null,
    },
  }
}
