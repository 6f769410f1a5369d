import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../../shared/http-error'
import type { BridgeEnv } from '../types'
import { allows, type Principal, type ScopeAction, type TokenTable } from './tokens'

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="bridge"' }

/** Bearer-token authentication; the principal's scopes are checked by each route with `authorize`. */
export const requireToken = ({ tokens }: { tokens: TokenTable }): MiddlewareHandler<BridgeEnv> =>
  async function requireToken(c, next) {
    const header = c.req.header('authorization')
    if (!header) throw new HttpError(401, 'unauthorized', 'A bearer token is required', undefined, CHALLENGE)
    const match = BEARER.exec(header)
    const principal = match?.[1] ? tokens.authenticate(match[1]) : undefined
    if (!principal) {
      throw new HttpError(401, 'invalid_token', 'The bearer token is not valid', undefined, {
        'WWW-Authenticate': 'Bearer realm="bridge", error="invalid_token"',
      })
    }
    c.set('principal', principal)
    await next()
  }

export const authorize = (principal: Principal, action: ScopeAction, subjects: readonly string[]): void => {
  const denied = [...new Set(subjects.filter((subject) => !allows(principal, action, subject)))]
  if (denied.length > 0) {
    throw new HttpError(403, 'forbidden', `The token may not ${action} on ${denied.join(', ')}`, {
      action,
      subjects: denied,
    })
  }
}
