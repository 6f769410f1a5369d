import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../../shared/http-error'
import { RESERVED_REASON_TEXT, reservedReason } from '../../shared/reserved-subjects'
import { patternCovers, subjectMatches } from '../../shared/subject-validation'
import { isStreamSubject, REQUEST_SUBJECTS } from '../../shared/subjects'
import type { BridgeEnv } from '../types'
import { allows, mayObserve, maySubscribe, type Principal, type ScopeAction, type TokenTable } from './tokens'

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

/** Reserved subjects come before any scope: no pattern a token holds reaches them. */
const refuseReserved = (action: ScopeAction, subjects: readonly string[]): void => {
  const reserved = [...new Set(subjects)].flatMap((subject) => {
    const reason = reservedReason(subject)
    return reason ? [{ subject, reason }] : []
  })
  const first = reserved[0]
  if (first) {
    throw new HttpError(
      403,
      'reserved_subject',
      `${first.subject} is reserved for the system: ${RESERVED_REASON_TEXT[first.reason]}`,
      { action, subjects: reserved.map((r) => r.subject), reason: first.reason },
    )
  }
}

export const authorize = (principal: Principal, action: ScopeAction, subjects: readonly string[]): void => {
  refuseReserved(action, subjects)
  const denied = [...new Set(subjects.filter((subject) => !allows(principal, action, subject)))]
  if (denied.length > 0) {
    throw new HttpError(403, 'forbidden', `The token may not ${action} on ${denied.join(', ')}`, {
      action,
      subjects: denied,
    })
  }
}

/** The relay: never a reserved subject, never a subject the event stream captures, then the request scope. */
export const authorizeRequest = (principal: Principal, subject: string): void => {
  refuseReserved('request', [subject])
  if (isStreamSubject(subject)) {
    throw new HttpError(
      403,
      'stream_subject',
      `${subject} is an event-stream subject: events are published through POST /v1/events`,
      { action: 'request', subjects: [subject] },
    )
  }
  authorize(principal, 'request', [subject])
}

/**
 * `answered`: request subjects that executors and forward routes answer in their queue groups;
 * a pattern inside them needs an `observe` scope as well, since it shows other clients' requests.
 */
export const authorizeSubscribe = (
  principal: Principal,
  pattern: string,
  answered: readonly string[] = REQUEST_SUBJECTS,
): void => {
  refuseReserved('subscribe', [pattern])
  if (!maySubscribe(principal, pattern)) {
    throw new HttpError(403, 'forbidden', `The token may not subscribe to ${pattern}`, {
      action: 'subscribe',
      subjects: [pattern],
    })
  }
  if (answered.some((subject) => patternCovers(subject, pattern)) && !mayObserve(principal, pattern)) {
    throw new HttpError(
      403,
      'observe_required',
      `${pattern} carries requests answered by a service: subscribing to it needs an observe scope`,
      { action: 'observe', subjects: [pattern] },
    )
  }
}

/**
 * What a subscription whose pattern merely overlaps system space delivers to this principal:
 * never a reserved subject, and requests on answered subjects only when it may observe them.
 */
export const deliverableTo =
  (principal: Principal, answered: readonly string[] = REQUEST_SUBJECTS) =>
  (subject: string): boolean =>
    reservedReason(subject) === undefined &&
    (!answered.some((pattern) => subjectMatches(pattern, subject)) ||
      principal.scopes.observe.some((pattern) => subjectMatches(pattern, subject)))
