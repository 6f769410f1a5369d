import { app } from './app'
import type { Bindings } from './env'
import { runScheduled } from './scheduled/run'

export default {
  fetch: app.fetch,
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(runScheduled(env))
  },
} satisfies ExportedHandler<Bindings>
