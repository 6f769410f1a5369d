import { Hono } from 'hono'
import { healthRoutes } from './routes/health'

export type Bindings = Env & {
  DATABASE_URL: string
  /** Local development and tests only: host:port of the WebSocket→TCP relay in front of Postgres. */
  PG_WS_PROXY?: string
  BRIDGE_URL?: string
  BRIDGE_TOKEN?: string
}

export type Variables = {
  requestId: string
}

export type HonoEnv = { Bindings: Bindings; Variables: Variables }

export const createApp = () => {
  const app = new Hono<HonoEnv>()
  app.use(async function requestId(c, next) {
    c.set('requestId', c.req.header('x-request-id') ?? crypto.randomUUID())
    await next()
  })
  app.route('/health', healthRoutes)
  return app
}

export const app = createApp()
