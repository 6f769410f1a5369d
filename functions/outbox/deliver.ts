import type { Pool } from '@neondatabase/serverless'
import { backoffDelay } from '../../shared/backoff'
import type { LibraryEvent } from '../../shared/events'
import { claimDue, markDelivered, markFailed, type Published, recordPublished } from '../db/outbox'
import type { Queryable } from '../db/sql'
import { log } from '../log'
import { type BridgeConfig, publishBatch } from './bridge-client'

export interface DeliveryOptions {
  bridge: BridgeConfig
  batchSize: number
  /** Only these events (after a request commits); otherwise every due row (the scheduled drain). */
  eventIds?: readonly string[]
  /** Upper bound on batches in one call. */
  maxBatches?: number
}

export interface DeliveryReport {
  delivered: number
  failed: number
}

const BACKOFF = { initialMs: 5_000, maxMs: 15 * 60_000, factor: 2, jitter: 0.2 }

/**
 * Post-commit delivery starts inside the request, before its response is handed back. Waiting a
 * few milliseconds lets the response reach the client first instead of sharing the isolate and the
 * CPU with the bridge call and the statement after it (locally, POST p50 14.2 → 10.8 ms; 2 ms
 * gave 11.3, 8 ms 10.8). The events are late by as much.
 */
const afterResponse = () => scheduler.wait(4)

/**
 * After a commit: publishes the events the request produced (in memory, in order) as one batch,
 * then records the outcome in one statement (see `recordPublished`). Only events that no older
 * undelivered event of their entity held back at commit may be passed here; the rest wait for
 * the drain.
 */
export const deliverCommitted = async (
  db: Queryable,
  bridge: BridgeConfig,
  events: readonly LibraryEvent[],
): Promise<DeliveryReport> => {
  if (events.length === 0) return { delivered: 0, failed: 0 }
  await afterResponse()
  const outcomes = await publishBatch(bridge, events)
  const published: Published[] = outcomes.map((o) =>
    'seq' in o
      ? { event_id: o.event_id, seq: o.seq }
      : { event_id: o.event_id, error: o.error, delayMs: backoffDelay(0, BACKOFF) },
  )
  await recordPublished(db, published)
  const failed = published.filter((p) => 'error' in p)
  if (failed.length > 0)
    log.warn('outbox delivery incomplete', {
      delivered: published.length - failed.length,
      failed: failed.length,
      error: (failed[0] as { error: string }).error,
    })
  return { delivered: published.length - failed.length, failed: failed.length }
}

/**
 * The claim/lease path, used by the Cron Trigger (and after a commit whose events' order is not
 * known, e.g. inbound webhooks): claim due rows, post them to the bridge as one batch, record the stream sequence of each ack, and push
 * each failed row out with exponential backoff.
 */
export const deliverOutbox = async (pool: Pool, options: DeliveryOptions): Promise<DeliveryReport> => {
  const report: DeliveryReport = { delivered: 0, failed: 0 }
  const maxBatches = options.maxBatches ?? (options.eventIds ? 1 : 20)
  const leaseMs = options.bridge.BRIDGE_TIMEOUT_MS + 30_000
  if (options.eventIds) await afterResponse()
  for (let batch = 0; batch < maxBatches; batch++) {
    const rows = await claimDue(pool, { eventIds: options.eventIds, limit: options.batchSize, leaseMs })
    if (rows.length === 0) break
    const outcomes = await publishBatch(
      options.bridge,
      rows.map((r) => r.payload),
    )
    const acks: { id: string; seq: number }[] = []
    const failures: { id: string; delayMs: number; error: string }[] = []
    rows.forEach((row, i) => {
      const outcome = outcomes[i]!
      if ('seq' in outcome) acks.push({ id: row.id, seq: outcome.seq })
      else failures.push({ id: row.id, delayMs: backoffDelay(row.attempts, BACKOFF), error: outcome.error })
    })
    await markDelivered(pool, acks)
    await markFailed(pool, failures)
    report.delivered += acks.length
    report.failed += failures.length
    if (failures.length > 0) {
      log.warn('outbox delivery incomplete', {
        delivered: acks.length,
        failed: failures.length,
        error: failures[0]?.error,
      })
      // the bridge is struggling: leave the rest to a later run
      break
    }
  }
  return report
}
