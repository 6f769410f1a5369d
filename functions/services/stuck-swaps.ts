import type { Pool } from '@neondatabase/serverless'
import { errorBody } from '../../shared/http-error'
import { withTransaction } from '../db/pool'
import { completeIdempotencyKey, expirePendingSwaps, lockUnfinishedIdempotencyKeys } from '../db/swaps'

/**
 * Beyond the swap timeout, how long before a pending swap counts as abandoned. A live request is
 * done by SWAP_TIMEOUT_MS plus the relay's HTTP margin, and a retry waiting on its key gives up
 * 10 s after the timeout, so a request still running is never overtaken.
 */
export const STUCK_MARGIN_MS = 60_000

const BATCH_SIZE = 100

const MESSAGE =
  'The request relaying this swap ended before the swap executor answered; the swap may still complete'

export interface StuckSwapsReport {
  swaps_expired: number
  idempotency_keys_finished: number
}

/**
 * Settles what a request that died mid-relay left behind: its swap, still pending, becomes
 * `unknown` (so a late outcome event from the executor settles it), and its Idempotency-Key gets
 * the answer a timeout would have given, 504 with the swap's id and status, which every retry
 * then receives instead of waiting on a request that is gone. The command may have reached the
 * executor, so nothing is relayed again.
 */
export const settleStuckSwaps = (pool: Pool, swapTimeoutMs: number): Promise<StuckSwapsReport> =>
  withTransaction(pool, async (tx) => {
    const olderThanMs = swapTimeoutMs + STUCK_MARGIN_MS
    const expired = await expirePendingSwaps(
      tx,
      olderThanMs,
      { message: MESSAGE, error_code: 'timeout' },
      BATCH_SIZE,
    )
    const keys = await lockUnfinishedIdempotencyKeys(tx, olderThanMs, BATCH_SIZE)
    const requestId = crypto.randomUUID()
    for (const k of keys) {
      const details = { swap_id: k.swap_id, status: k.swap_status }
      await completeIdempotencyKey(tx, k.actor, k.key, 504, errorBody('timeout', MESSAGE, requestId, details))
    }
    return { swaps_expired: expired.length, idempotency_keys_finished: keys.length }
  })
