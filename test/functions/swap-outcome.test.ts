// Pure: nothing here touches Postgres or the bridge; it sits with the functions for their Workers types.
import { describe, expect, it } from 'vitest'
import type { SwapRow } from '../../functions/db/swaps'
import { interpret, interpretRollback, settlementOf } from '../../functions/swaps/outcome'
import { createEvent } from '../../shared/events'
import { swapOutcomeEventId } from '../../shared/swap-execution'

const ctx = { actor: 'key:writer', requestId: 'req-1' }

const swapRow = (overrides: Partial<SwapRow> = {}): SwapRow => ({
  id: '0d8f6b8e-5c52-4a39-9a3a-3f6a9d0e6b11',
  seq: '1',
  from_entity_id: '1b7c4d2e-0f3a-4b5c-8d6e-7f8091a2b3c4',
  to_entity_id: '2c8d5e3f-1a4b-4c6d-9e7f-8091a2b3c4d5',
  reason: 'upgrade',
  initiated_by: 'ops',
  validate_only: false,
  status: 'pending',
  message: null,
  error_code: null,
  validation_results: null,
  executor_response: null,
  actor: 'key:writer',
  created_at: new Date(0),
  updated_at: new Date(0),
  settled_at: null,
  rolled_back_at: null,
  ...overrides,
})

const reply = (success: boolean, status = success ? 'completed' : 'failed') => ({
  kind: 'reply' as const,
  response: {
    swap_id: swapRow().id,
    status,
    success,
    message: success ? 'done' : 'refused',
    validation_results: null,
  },
})

describe('interpret (execute)', () => {
  it('a successful reply completes the swap with its deterministic swap.completed event and a 200', async () => {
    const swap = swapRow()
    const result = await interpret(swap, reply(true), ctx)
    expect(result.state).toMatchObject({ status: 'completed', message: 'done', error_code: null })
    expect(result.event).toMatchObject({
      event_type: 'swap.completed',
      event_id: await swapOutcomeEventId(swap.id, 'swap.completed'),
      swap_id: swap.id,
      metadata: { actor: ctx.actor, request_id: ctx.requestId },
    })
    expect(result.reply).toEqual({ status: 200, body: reply(true).response })
  })

  it('a rejecting reply fails the swap as executor_rejected and still answers 200 with the reply', async () => {
    const result = await interpret(swapRow(), reply(false), ctx)
    expect(result.state).toMatchObject({ status: 'failed', error_code: 'executor_rejected' })
    expect(result.event).toMatchObject({
      event_type: 'swap.failed',
      data: { error_code: 'executor_rejected' },
    })
    expect(result.reply.status).toBe(200)
  })

  it('a validate-only swap is validated or rejected, with swap.validated', async () => {
    const swap = swapRow({ validate_only: true })
    const valid = await interpret(swap, reply(true, 'validated'), ctx)
    expect(valid.state.status).toBe('validated')
    expect(valid.event).toMatchObject({ event_type: 'swap.validated', data: { valid: true } })
    const invalid = await interpret(swap, reply(false, 'rejected'), ctx)
    expect(invalid.state.status).toBe('rejected')
    expect(invalid.event).toMatchObject({ event_type: 'swap.validated', data: { valid: false } })
  })

  it.each([
    [{ kind: 'no_responders' as const }, 503, 'no_responders'],
    [{ kind: 'invalid_reply' as const, message: 'not a SwapResponse' }, 502, 'invalid_executor_reply'],
    [{ kind: 'unavailable' as const, message: 'bridge down' }, 503, 'bridge_unavailable'],
  ])('%o fails the swap with swap.failed and a %i %s', async (outcome, status, code) => {
    const result = await interpret(swapRow(), outcome, ctx)
    expect(result.state).toMatchObject({ status: 'failed', error_code: code })
    expect(result.event).toMatchObject({ event_type: 'swap.failed', data: { error_code: code } })
    expect(result.reply).toMatchObject({
      status,
      body: { error: { code, request_id: ctx.requestId, details: { status: 'failed' } } },
    })
  })

  it('a timeout leaves the swap unknown, emits nothing and answers 504', async () => {
    const result = await interpret(swapRow(), { kind: 'timeout' }, ctx)
    expect(result.state).toMatchObject({ status: 'unknown', error_code: 'timeout' })
    expect(result.event).toBeUndefined()
    expect(result.reply).toMatchObject({ status: 504, body: { error: { code: 'timeout' } } })
  })
})

describe('interpretRollback', () => {
  const completed = swapRow({ status: 'completed' })

  it('a confirmation rolls the swap back with swap.rolled_back carrying the reason', async () => {
    const result = await interpretRollback(completed, reply(true, 'rolled_back'), 'bad numbers', ctx)
    expect(result.state).toMatchObject({ status: 'rolled_back', error_code: null })
    expect(result.event).toMatchObject({
      event_type: 'swap.rolled_back',
      event_id: await swapOutcomeEventId(completed.id, 'swap.rolled_back'),
      data: { reason: 'bad numbers' },
    })
    expect(result.reply.status).toBe(200)
  })

  it.each([
    [reply(false), 502, 'rollback_rejected'],
    [{ kind: 'timeout' as const }, 504, 'timeout'],
    [{ kind: 'no_responders' as const }, 503, 'no_responders'],
  ])('anything else (%o) changes nothing: %i %s naming the current status', async (outcome, status, code) => {
    const result = await interpretRollback(completed, outcome, 'r', ctx)
    expect(result.state).toBeUndefined()
    expect(result.event).toBeUndefined()
    expect(result.reply).toMatchObject({
      status,
      body: { error: { code, details: { status: 'completed' } } },
    })
  })
})

describe('settlementOf (outcome events published by an executor)', () => {
  const swapId = '0D8F6B8E-5C52-4A39-9A3A-3F6A9D0E6B11'
  const parties = { from_entity_id: swapRow().from_entity_id, to_entity_id: swapRow().to_entity_id }

  it('swap.completed settles a pending or unknown swap as completed (id lower-cased)', () => {
    const event = createEvent({
      event_type: 'swap.completed',
      swap_id: swapId,
      data: { ...parties, status: 'completed', message: 'late but done' },
    })
    expect(settlementOf(event)).toEqual({
      swapId: swapId.toLowerCase(),
      from: ['pending', 'unknown'],
      state: { status: 'completed', message: 'late but done', error_code: null },
    })
  })

  it('swap.failed without an error_code fails it as executor_failed', () => {
    const event = createEvent({
      event_type: 'swap.failed',
      swap_id: swapId,
      data: { ...parties, status: 'failed', message: 'no' },
    })
    expect(settlementOf(event)?.state).toEqual({
      status: 'failed',
      message: 'no',
      error_code: 'executor_failed',
    })
  })

  it('swap.rolled_back settles only a completed swap', () => {
    const event = createEvent({
      event_type: 'swap.rolled_back',
      swap_id: swapId,
      data: { ...parties, reason: 'r', message: 'undone' },
    })
    expect(settlementOf(event)).toMatchObject({ from: ['completed'], state: { status: 'rolled_back' } })
  })

  it('other swap events settle nothing', () => {
    const event = createEvent({
      event_type: 'swap.initiated',
      swap_id: swapId,
      data: { ...parties, reason: 'r', initiated_by: 'ops', validate_only: false },
    })
    expect(settlementOf(event)).toBeUndefined()
  })
})
