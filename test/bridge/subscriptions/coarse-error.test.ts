import { describe, expect, it } from 'vitest'
import { coarseReason, publicLastError } from '../../../bridge/subscriptions/coarse-error'

const stored = (message: string, status: number | null) => ({
  last_error: { message, status, event_id: 'e1', at: '2026-01-01T00:00:00.000Z', attempt: 2 },
})

describe('coarse delivery errors', () => {
  it('reduces every failure to a status, a connection failure, a timeout or a policy refusal', () => {
    expect(coarseReason({ kind: 'failed', status: 500, error: 'receiver answered 500' })).toBe('HTTP 500')
    expect(coarseReason({ kind: 'failed', status: 307, error: 'redirect 307 not followed' })).toBe(
      'HTTP 307 (redirects are not followed)',
    )
    expect(coarseReason({ kind: 'gone', status: 410, error: 'receiver answered 410 Gone' })).toBe('HTTP 410')
    expect(
      coarseReason({
        kind: 'rate_limited',
        status: 429,
        retryAfterMs: 1_000,
        error: 'receiver answered 429',
      }),
    ).toBe('HTTP 429')
    for (const error of [
      'ECONNREFUSED',
      'EHOSTUNREACH',
      'cannot resolve db.internal: ENOTFOUND',
      'ECONNRESET',
    ])
      expect(coarseReason({ kind: 'failed', error, connected: false })).toBe('connection failed')
    expect(coarseReason({ kind: 'failed', error: 'no response within 1000 ms', connected: false })).toBe(
      'connection failed',
    )
    expect(coarseReason({ kind: 'failed', error: 'no response within 1000 ms', connected: true })).toBe(
      'timed out',
    )
    expect(coarseReason({ kind: 'refused', error: 'refused: db.internal resolves to 10.1.2.3 …' })).toBe(
      'target refused by policy',
    )
  })

  it('shows an error stored in the old detailed form reduced the same way', () => {
    expect(
      publicLastError(stored('refused: x resolves to 10.0.0.7 is a private address', null))?.message,
    ).toBe('target refused by policy')
    expect(publicLastError(stored('cannot resolve x.internal: ENOTFOUND', null))?.message).toBe(
      'connection failed',
    )
    expect(publicLastError(stored('receiver answered 502', 502))?.message).toBe('HTTP 502')
    expect(publicLastError(stored('timed out', null))?.message).toBe('timed out')
    expect(publicLastError({ last_error: null })).toBeNull()
  })
})
