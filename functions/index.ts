import { app } from './app'

const scheduled: ExportedHandlerScheduledHandler<Env> = async () => {}

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>
