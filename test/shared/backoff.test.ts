import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay, DEFAULT_BACKOFF } from '../../shared/backoff'

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const attempt = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }),
  fc.double({ noNaN: true }),
  fc.constant(Number.NaN),
)
const options = fc.record({
  initialMs: fc.integer({ min: 1, max: 60_000 }),
  maxMs: fc.integer({ min: 1, max: 600_000 }),
  factor: fc.double({ min: 1, max: 10, noNaN: true }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
})

const ceiling = (n: number, o = DEFAULT_BACKOFF) =>
  Math.min(o.maxMs, o.initialMs * o.factor ** Math.min(Math.max(0, Math.floor(n)), 64))

describe('backoffDelay', () => {
  it('defaults to 1 s doubling up to 30 s', () => {
    expect(DEFAULT_BACKOFF).toMatchObject({ initialMs: 1_000, maxMs: 30_000, factor: 2 })
    const top = () => 0
    expect([0, 1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(n, {}, top))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ])
  })

  it('stays within [ceiling·(1−jitter), ceiling] with the default options, for every attempt', () => {
    fc.assert(
      fc.property(attempt, unit, (n, r) => {
        const delay = backoffDelay(n, {}, () => r)
        const top = ceiling(Number.isNaN(n) ? 0 : n)
        expect(Number.isInteger(delay)).toBe(true)
        expect(delay).toBeLessThanOrEqual(top)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(top * (1 - DEFAULT_BACKOFF.jitter)))
        expect(delay).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.initialMs * (1 - DEFAULT_BACKOFF.jitter))
        expect(delay).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs)
      }),
    )
  })

  it('never exceeds the cap and is never negative, whatever the options', () => {
    fc.assert(
      fc.property(attempt, options, unit, (n, o, r) => {
        const delay = backoffDelay(n, o, () => r)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(o.maxMs)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(Math.min(o.initialMs, o.maxMs) * (1 - o.jitter)))
      }),
    )
  })

  it('has a ceiling that never decreases from one attempt to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), options, (n, o) => {
        const top = () => 0
        expect(backoffDelay(n + 1, o, top)).toBeGreaterThanOrEqual(backoffDelay(n, o, top))
      }),
    )
  })

  it('is deterministic with jitter 0', () => {
    fc.assert(
      fc.property(attempt, unit, unit, (n, r1, r2) => {
        const a = backoffDelay(n, { jitter: 0 }, () => r1)
        expect(a).toBe(backoffDelay(n, { jitter: 0 }, () => r2))
        expect(a).toBe(ceiling(Number.isNaN(n) ? 0 : n))
      }),
    )
  })

  it('spreads delays over the jitter range', () => {
    expect(backoffDelay(3, { jitter: 1 }, () => 0)).toBe(8_000)
    expect(backoffDelay(3, { jitter: 1 }, () => 0.5)).toBe(4_000)
    expect(backoffDelay(3, { jitter: 0.5 }, () => 0.999_999)).toBe(4_000)
  })

  it('treats negative, fractional and missing attempts as the nearest sensible one', () => {
    const top = () => 0
    expect(backoffDelay(-5, {}, top)).toBe(1_000)
    expect(backoffDelay(2.9, {}, top)).toBe(4_000)
    expect(backoffDelay(Number.NaN, {}, top)).toBe(1_000)
    expect(backoffDelay(Number.POSITIVE_INFINITY, {}, top)).toBe(30_000)
  })

  it('uses Math.random by default and stays in range', () => {
    for (let n = 0; n < 50; n++) {
      const delay = backoffDelay(n)
      expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling(n) * 0.8))
      expect(delay).toBeLessThanOrEqual(ceiling(n))
    }
  })
})
