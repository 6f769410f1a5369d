import type { MiddlewareHandler } from 'hono'
import { type HonoEnv, loadConfig } from '../env'

/** Parses the bindings (once per env) and fails the request with 500 bad_environment if any is wrong. */
export const requireConfig = (): MiddlewareHandler<HonoEnv> =>
  async function requireConfig(c, next) {
    c.set('config', loadConfig(c.env))
    await next()
  }
