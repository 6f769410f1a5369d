import type { MiddlewareHandler } from 'hono'
import { readBodyText } from '../../shared/http/read-body'
import { HttpError } from '../../shared/http-error'
import { verifyWebhook } from '../../shared/webhook-signing'
import type { HonoEnv } from '../env'

/** Swap requests and events are small; NATS caps them at max_payload anyway. */
const MAX_INTERNAL_BODY_BYTES = 1_048_576

const sha256 = async (text: string) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))

const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, undefined, {
    'WWW-Authenticate': 'Bearer realm="library-internal"',
  })

/**
 * Only the bridge may call `/internal`: either its bearer equals FORWARD_TOKEN, or the body is
 * signed per Standard Webhooks with FORWARD_SIGNING_SECRET (signed forward routes, webhook
 * subscriptions). Both endpoints behind it are free of side effects or idempotent, so the
 * signature's timestamp tolerance is the only replay bound.
 */
export const requireForwardToken = (): MiddlewareHandler<HonoEnv> =>
  async function requireForwardToken(c, next) {
    const { FORWARD_TOKEN: token, FORWARD_SIGNING_SECRET: secret } = c.var.config
    if (token === undefined && secret === undefined)
      throw new HttpError(
        503,
        'forwarding_disabled',
        'Internal endpoints are disabled: neither FORWARD_TOKEN nor FORWARD_SIGNING_SECRET is set',
      )
    const authorization = c.req.header('authorization')
    if (authorization !== undefined || secret === undefined) {
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization?.trim() ?? '')
      const [presented, wanted] = await Promise.all([sha256(match?.[1] ?? ''), sha256(token ?? '')])
      if (!match || token === undefined || !crypto.subtle.timingSafeEqual(presented, wanted))
        throw unauthorized('The bridge forward token is required')
    }
    const body = await readBodyText(c.req.raw, MAX_INTERNAL_BODY_BYTES)
    if (authorization === undefined && secret !== undefined) {
      const verification = await verifyWebhook({ secrets: [secret], headers: c.req.raw.headers, body })
      if (!verification.ok) throw unauthorized(`Invalid signature: ${verification.message}`)
    }
    c.set('actor', 'bridge')
    c.set('forwardedBody', body)
    await next()
  }
