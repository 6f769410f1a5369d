import { describe, expect, it } from 'vitest'
import { traceContextFrom, validTraceparent, validTracestate } from '../../shared/trace-context'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`

/** Valid members (values of at most 256 characters) making up `length` characters in all. */
const ofLength = (length: number) => {
  const first = `a=${'v'.repeat(254)}`
  return `${first},b=${'v'.repeat(length - first.length - 3)}`
}

const headers =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name]

describe('validTraceparent', () => {
  it.each([
    ['sampled', VALID],
    ['not sampled', `00-${TRACE_ID}-${PARENT_ID}-00`],
    ['a later version of the same shape', `01-${TRACE_ID}-${PARENT_ID}-01`],
  ])('keeps a valid traceparent as it is (%s)', (_, value) => {
    expect(validTraceparent(value)).toBe(value)
  })

  it('reads a later version with more fields for the fields version 00 has', () => {
    expect(validTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01-extra-fields`)).toBe(
      `01-${TRACE_ID}-${PARENT_ID}-01`,
    )
    expect(validTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01-extra`)).toBeUndefined()
    expect(validTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01x`)).toBeUndefined()
  })

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['too long', `${VALID}-00`],
    ['a trace id one digit short', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['a parent id one digit long', `00-${TRACE_ID}-${PARENT_ID}0-01`],
    ['flags of one digit', `00-${TRACE_ID}-${PARENT_ID}-1`],
    ['a non-hex digit', `00-${TRACE_ID.slice(0, 31)}g-${PARENT_ID}-01`],
    ['surrounding space', ` ${VALID}`],
    ['two values joined', `${VALID}, ${VALID}`],
    ['an empty string', ''],
  ])('drops %s', (_, value) => {
    expect(validTraceparent(value)).toBeUndefined()
  })

  it('drops anything that is not a string', () => {
    for (const value of [undefined, null, 42, { traceparent: VALID }, [VALID]])
      expect(validTraceparent(value)).toBeUndefined()
  })
})

describe('validTracestate', () => {
  it.each([
    ['one member', 'congo=t61rcWkgMzE'],
    ['two members with spaces', 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE'],
    ['a multi-tenant key', 'fw529a3039@dt=1, 1tenant@vendor=x'],
    ['an empty member between others', 'a=1,,b=2'],
    ['a value with spaces inside', 'a=some value'],
    ['32 members', Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')],
    ['exactly 512 characters', ofLength(512)],
  ])('keeps a valid tracestate as it is (%s)', (_, value) => {
    expect(validTracestate(value)).toBe(value)
  })

  it.each([
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['513 characters of valid members', ofLength(513)],
    ['an uppercase key', 'Congo=t61rcWkgMzE'],
    ['a simple key starting with a digit', '1congo=x'],
    ['a key with two @', 'a@b@c=x'],
    ['a system name starting with a digit', 'tenant@1vendor=x'],
    ['a member without =', 'congo'],
    ['an empty value', 'congo='],
    ['a value with =', 'congo=a=b'],
    ['a control character in a value', 'congo=a\u0001b'],
    ['a value of 257 characters', `k=${'v'.repeat(257)}`],
    ['only empty members', ' , ,'],
    ['an empty string', ''],
  ])('drops %s', (_, value) => {
    expect(validTracestate(value)).toBeUndefined()
  })
})

describe('traceContextFrom', () => {
  it('reads traceparent and tracestate', () => {
    expect(traceContextFrom(headers({ traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' }))).toEqual({
      traceparent: VALID,
      tracestate: 'congo=t61rcWkgMzE',
    })
  })

  it('leaves out a missing or invalid tracestate', () => {
    expect(traceContextFrom(headers({ traceparent: VALID }))).toEqual({ traceparent: VALID })
    expect(traceContextFrom(headers({ traceparent: VALID, tracestate: 'Bad Key=1' }))).toEqual({
      traceparent: VALID,
    })
  })

  it('is undefined without a valid traceparent, whatever the tracestate', () => {
    expect(traceContextFrom(headers({}))).toBeUndefined()
    expect(traceContextFrom(headers({ tracestate: 'congo=t61rcWkgMzE' }))).toBeUndefined()
    expect(
      traceContextFrom(headers({ traceparent: `ff-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'a=1' })),
    ).toBeUndefined()
  })
})
