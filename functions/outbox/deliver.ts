import type { Pool } from '@neondatabase/serverless'
import { backoffDelay } from '../../shared/backoff'
import type { LibraryEvent } from '../../shared/events'
import {
  claimDue,
  holdStates,
  markDelivered,
  markFailed,
  type Published,
  recordPublished,
} from '../db/outbox'
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
 * After a commit: publishes the events the request produced (in memory, in order) as one batch,
 * then records the outcome in one statement (see `recordPublished`). Only events that no older
 * undelivered event of their entity held back at commit may be passed here; the others go to
 * `deliverHeldBack`.
 */
export const deliverCommitted = async (
  db: Queryable,
  bridge: BridgeConfig,
  events: readonly LibraryEvent[],
): Promise<DeliveryReport> => {
  if (events.length === 0) return { delivered: 0, failed: 0 }
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
 * Waits before each look at events held back at commit. What holds them back is usually an older
 * event of their entity that another request's post-commit delivery is publishing right then: its
 * 4 ms wait, one bridge call and one statement (locally the first look, 10 ms in, finds it
 * delivered). The later looks cover a slower bridge or database; after about 1 s in all the drain
 * takes over, as before.
 */
const HELD_BACK_DELAYS_MS = [10, 25, 50, 100, 250, 500]

/**
 * After a commit, for the events an older undelivered event of their entity held back: once no
 * such event holds one back any more (one statement per look, see `holdStates`), publishes it from
 * memory, in order, with the others released at the same look. An event held back by one whose
 * delivery failed is left to the drain at once: that one waits for its backoff. Stops at a bridge
 * failure; what is left after the last delay waits for the drain.
 */
export const deliverHeldBack = async (
  db: Queryable,
  bridge: BridgeConfig,
  events: readonly LibraryEvent[],
): Promise<DeliveryReport> => {
  const report: DeliveryReport = { delivered: 0, failed: 0 }
  const leftForDrain: string[] = []
  let waiting = events
  for (const delay of HELD_BACK_DELAYS_MS) {
    if (waiting.length === 0) break
    await scheduler.wait(delay)
    const { released, behindFailure, delivered } = await holdStates(
      db,
      waiting.map((e) => e.event_id),
    )
    leftForDrain.push(...behindFailure)
    const settled = new Set([...released, ...behindFailure, ...delivered])
    const publishing = waiting.filter((e) => released.includes(e.event_id))
    waiting = waiting.filter((e) => !settled.has(e.event_id))
    if (publishing.length === 0) continue
    const published = await deliverCommitted(db, bridge, publishing)
    report.delivered += published.delivered
    report.failed += published.failed
    if (published.failed > 0) break
  }
  leftForDrain.push(...waiting.map((e) => e.event_id))
  if (leftForDrain.length > 0)
    log.debug('outbox events held back at commit left for the drain', { event_ids: leftForDrain })
  return report
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
