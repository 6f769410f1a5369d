import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import worker from '../../../functions/index'
import { type CallOptions, testEnv } from './call'

/** Runs the Worker's Cron Trigger handler once and waits for all of its work. */
export const runScheduled = async (env: CallOptions['env'] = {}) => {
  const ctx = createExecutionContext()
  await worker.scheduled(
    createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }),
    testEnv(env),
    ctx,
  )
  await waitOnExecutionContext(ctx)
}
