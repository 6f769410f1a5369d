import { createPool } from '../db/pool'
import { type Bindings, parseBindings } from '../env'
import { log } from '../log'
import { deliverOutbox } from '../outbox/deliver'
import { settleStuckSwaps } from '../services/stuck-swaps'
import { pruneExpired } from './retention'

/**
 * The Cron Trigger: drains what the post-commit delivery left in the outbox, settles swaps whose
 * request died mid-relay, then deletes what is kept no longer.
 */
export const runScheduled = async (env: Bindings): Promise<void> => {
  const { config, issues } = parseBindings(env)
  if (!config) {
    log.error('scheduled run skipped: bad environment', { bindings: issues.map((i) => i.binding) })
    return
  }
  // A WebSocket Pool for the whole run: the drain's claims (select … for update skip locked, then
  // the lease) and the stuck-swap settlement are interactive transactions, and a run makes many calls.
  const pool = createPool(config)
  /** Logs the counts of a step when any is non-zero; a failing step does not stop the next. */
  const step = async (name: string, run: () => Promise<Record<string, number>>) => {
    try {
      const counts = await run()
      if (Object.values(counts).some((n) => n > 0)) log.info(name, counts)
    } catch (err) {
      log.error(`${name} failed`, { error: err instanceof Error ? err.message : String(err) })
    }
  }
  try {
    await step('outbox drained', async () => ({
      ...(await deliverOutbox(pool, { bridge: config, batchSize: config.OUTBOX_BATCH_SIZE })),
    }))
    await step('stuck swaps settled', async () => ({
      ...(await settleStuckSwaps(pool, config.SWAP_TIMEOUT_MS)),
    }))
    await step('expired rows pruned', async () => ({ ...(await pruneExpired(pool, config)) }))
  } finally {
    await pool.end().catch(() => {})
  }
}
