import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { SwapCommand, SwapRequest, SwapResponse, SwapValidationReply } from '../../shared/swap'

const FROM = '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b'
const TO = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b'
const SWAP = 'c9bf9e57-1685-4c89-bafb-ff5af830be8a'

const request = { from_entity_id: FROM, to_entity_id: TO, reason: 'better sharpe', initiated_by: 'alice' }

describe('SwapRequest', () => {
  it('defaults validate_only to false', () => {
    expect(v.parse(SwapRequest, request)).toEqual({ ...request, validate_only: false })
  })

  it('keeps validate_only when given', () => {
    expect(v.parse(SwapRequest, { ...request, validate_only: true }).validate_only).toBe(true)
  })

  it.each(['from_entity_id', 'to_entity_id', 'reason', 'initiated_by'])('requires %s', (field) => {
    const { [field as keyof typeof request]: _, ...rest } = request
    const result = v.safeParse(SwapRequest, rest)
    expect(result.success).toBe(false)
    expect(result.issues?.map((issue) => v.getDotPath(issue))).toContain(field)
  })

  it.each([
    ['from_entity_id not a UUID', { from_entity_id: 'strategy-1' }],
    ['empty reason', { reason: '' }],
    ['empty initiated_by', { initiated_by: '' }],
    ['validate_only as a string', { validate_only: 'true' }],
    ['reason too long', { reason: 'x'.repeat(2_001) }],
    ['an unknown field', { priority: 'high' }],
  ])('rejects %s', (_, patch) => {
    expect(v.safeParse(SwapRequest, { ...request, ...patch }).success).toBe(false)
  })
})

describe('SwapResponse', () => {
  const response = {
    swap_id: SWAP,
    status: 'completed',
    success: true,
    message: 'Swap executed',
    validation_results: { latency_ok: true },
  }

  it('accepts exactly the original spec shape', () => {
    expect(v.parse(SwapResponse, response)).toEqual(response)
  })

  it('defaults validation_results to null and accepts null', () => {
    const { validation_results: _, ...rest } = response
    expect(v.parse(SwapResponse, rest).validation_results).toBeNull()
    expect(v.parse(SwapResponse, { ...response, validation_results: null }).validation_results).toBeNull()
  })

  it('keeps fields an executor adds', () => {
    expect(v.parse(SwapResponse, { ...response, executor: 'eu-1' })).toMatchObject({ executor: 'eu-1' })
  })

  it.each([
    ['no swap_id', { swap_id: undefined }],
    ['swap_id not a UUID', { swap_id: 'swap-1' }],
    ['success as a string', { success: 'true' }],
    ['empty status', { status: '' }],
    ['no message', { message: undefined }],
    ['validation_results an array', { validation_results: [] }],
  ])('rejects %s', (_, patch) => {
    expect(v.safeParse(SwapResponse, { ...response, ...patch }).success).toBe(false)
  })
})

describe('SwapCommand', () => {
  it('is the request plus swap_id, with action defaulting to execute', () => {
    expect(v.parse(SwapCommand, { ...request, swap_id: SWAP })).toEqual({
      ...request,
      validate_only: false,
      swap_id: SWAP,
      action: 'execute',
    })
  })

  it('accepts a rollback', () => {
    expect(v.parse(SwapCommand, { ...request, swap_id: SWAP, action: 'rollback' }).action).toBe('rollback')
  })

  it.each([
    ['no swap_id', { ...request }],
    ['an unknown action', { ...request, swap_id: SWAP, action: 'explode' }],
    ['a bad to_entity_id', { ...request, swap_id: SWAP, to_entity_id: 'x' }],
  ])('rejects %s', (_, doc) => {
    expect(v.safeParse(SwapCommand, doc).success).toBe(false)
  })
})

describe('SwapValidationReply', () => {
  it('accepts the reply the original spec reads', () => {
    const reply = { valid: true, message: 'Swap validation passed', validation_results: { checks: 3 } }
    expect(v.parse(SwapValidationReply, reply)).toEqual(reply)
  })

  it.each([
    ['no validation_results', { valid: false, message: 'no' }],
    ['valid as a string', { valid: 'yes', message: 'ok', validation_results: {} }],
    ['validation_results an array', { valid: true, message: 'ok', validation_results: [] }],
  ])('rejects %s', (_, doc) => {
    expect(v.safeParse(SwapValidationReply, doc).success).toBe(false)
  })
})
