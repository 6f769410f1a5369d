import { app } from './app'
import { createPool } from './db/pool'
import { type Bindings, parseBindings } from './env'
import { log } from './log'
import { deliverOutbox } from './outbox/deliver'

/** Cron Trigger: drains whatever the post-commit delivery left in the outbox. */
export const drainOutbox = async (env: Bindings) => {
  const { config, issues } = parseBindings(env)
  if (!config) {
    log.error('outbox drain skipped: bad environment', { bindings: issues.map((i) => i.binding) })
    return { delivered: 0, failed: 0 }
  }
  const pool = createPool(config)
  try {
    const report = await deliverOutbox(pool, { bridge: config, batchSize: config.OUTBOX_BATCH_SIZE })
    if (report.delivered + report.failed > 0) log.info('outbox drained', { ...report })
    return report
  } finally {
    await pool.end().catch(() => {})
  }
}

export default {
  fetch: app.fetch,
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(drainOutbox(env))
  },
} satisfies ExportedHandler<Bindings>
