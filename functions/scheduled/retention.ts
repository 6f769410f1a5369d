import type { Pool } from '@neondatabase/serverless'
import { DEFAULT_TOLERANCE_SECONDS } from '../../shared/webhook-signing'
import { pruneDeliveredOutbox, pruneIdempotencyKeys, pruneWebhookReceipts } from '../db/retention'
import type { Config } from '../env'

const BATCH_SIZE = 500
/** Bounds one run; whatever is left goes on the next. */
const MAX_BATCHES = 20
const MIN_RECEIPT_AGE_SECONDS = 3_600
/** How long a retry with the same Idempotency-Key gets the first answer back. */
export const IDEMPOTENCY_KEY_RETENTION_HOURS = 24

export interface RetentionReport {
  webhook_receipts: number
  outbox: number
  idempotency_keys: number
}

/**
 * A webhook's timestamp may lie up to the tolerance ahead of its arrival and is accepted until the
 * tolerance past it, so a repeat can arrive up to twice the tolerance after the first: only then
 * is its receipt no longer needed to turn the repeat away.
 */
export const receiptRetentionSeconds = (config: Pick<Config, 'WEBHOOK_SOURCES'>): number => {
  const tolerances = Object.values(config.WEBHOOK_SOURCES).map((s) => s.tolerance_seconds)
  return Math.max(MIN_RECEIPT_AGE_SECONDS, 2 * Math.max(DEFAULT_TOLERANCE_SECONDS, ...tolerances))
}

const inBatches = async (prune: (limit: number) => Promise<number>): Promise<number> => {
  let total = 0
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const deleted = await prune(BATCH_SIZE)
    total += deleted
    if (deleted < BATCH_SIZE) break
  }
  return total
}

/**
 * Deletes webhook receipts past their replay window, outbox rows delivered before the retention and
 * answered Idempotency-Key records older than a day.
 */
export const pruneExpired = async (
  pool: Pool,
  config: Pick<Config, 'WEBHOOK_SOURCES' | 'OUTBOX_RETENTION_DAYS'>,
): Promise<RetentionReport> => {
  const receiptAge = receiptRetentionSeconds(config)
  return {
    webhook_receipts: await inBatches((limit) => pruneWebhookReceipts(pool, receiptAge, limit)),
    outbox: await inBatches((limit) => pruneDeliveredOutbox(pool, config.OUTBOX_RETENTION_DAYS, limit)),
    idempotency_keys: await inBatches((limit) =>
      pruneIdempotencyKeys(pool, IDEMPOTENCY_KEY_RETENTION_HOURS, limit),
    ),
  }
}
