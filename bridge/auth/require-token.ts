import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../../shared/http-error'
import type { BridgeEnv } from '../types'
import { allows, maySubscribe, type Principal, type ScopeAction, type TokenTable } from './tokens'

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="bridge"' }
/** Authorization header values already authenticated; only accepted tokens are remembered. */
const KNOWN_HEADERS_MAX = 256

/**
 * Bearer-token authentication; the principal's scopes are checked by each route with `authorize`.
 * A header value seen for the first time goes through the constant-time comparison with every
 * token; an accepted one is then remembered, so its next requests skip the hashing.
 */
export const requireToken = ({ tokens }: { tokens: TokenTable }): MiddlewareHandler<BridgeEnv> => {
  const known = new Map<string, Principal>()
  const authenticate = (header: string): Principal | undefined => {
    const remembered = known.get(header)
    if (remembered) return remembered
    const match = BEARER.exec(header)
    const principal = match?.[1] ? tokens.authenticate(match[1]) : undefined
    if (principal) {
      if (known.size >= KNOWN_HEADERS_MAX) known.delete(known.keys().next().value as string)
      known.set(header, principal)
    }
    return principal
  }
  return async function requireToken(c, next) {
    const header = c.req.header('authorization')
    if (!header) throw new HttpError(401, 'unauthorized', 'A bearer token is required', undefined, CHALLENGE)
    const principal = authenticate(header)
    if (!principal) {
      throw new HttpError(401, 'invalid_token', 'The bearer token is not valid', undefined, {
        'WWW-Authenticate': 'Bearer realm="bridge", error="invalid_token"',
      })
    }
    c.set('principal', principal)
    await next()
  }
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

export const authorizeSubscribe = (principal: Principal, pattern: string): void => {
  if (!maySubscribe(principal, pattern)) {
    throw new HttpError(403, 'forbidden', `The token may not subscribe to ${pattern}`, {
      action: 'subscribe',
      subjects: [pattern],
    })
  }
}
