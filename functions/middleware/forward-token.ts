import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../../shared/http-error'
import type { HonoEnv } from '../env'

const sha256 = async (text: string) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))

/** Only the bridge's forward routes may call `/internal`: the bearer must equal FORWARD_TOKEN. */
export const requireForwardToken = (): MiddlewareHandler<HonoEnv> =>
  async function requireForwardToken(c, next) {
    const expected = c.var.config.FORWARD_TOKEN
    if (expected === undefined)
      throw new HttpError(
        503,
        'forwarding_disabled',
        'Internal endpoints are disabled: FORWARD_TOKEN is not set',
      )
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(c.req.header('authorization')?.trim() ?? '')
    const [presented, wanted] = await Promise.all([sha256(match?.[1] ?? ''), sha256(expected)])
    if (!match || !crypto.subtle.timingSafeEqual(presented, wanted))
      throw new HttpError(401, 'unauthorized', 'The bridge forward token is required', undefined, {
        'WWW-Authenticate': 'Bearer realm="library-internal"',
      })
    c.set('actor', 'bridge')
    await next()
  }
