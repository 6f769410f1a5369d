import { createHash, timingSafeEqual } from 'node:crypto'
import * as v from 'valibot'
import { firstIssue } from '../../shared/http-error'
import { patternCovers, subjectMatches, validateSubject } from '../../shared/subject-validation'

/** `observe`: may subscribe to request subjects that executors and forward routes answer (and see their requests). */
export const SCOPE_ACTIONS = ['publish', 'request', 'subscribe', 'observe'] as const
export type ScopeAction = (typeof SCOPE_ACTIONS)[number]

export interface Principal {
  name: string
  scopes: Readonly<Record<ScopeAction, readonly string[]>>
  /** Operator principal: manages every webhook subscription, not only its own. */
  admin: boolean
}

export interface TokenTable {
  readonly size: number
  /** The principal whose token equals `presented`; every entry is compared so timing does not reveal which. */
  authenticate(presented: string): Principal | undefined
}

const MIN_TOKEN_LENGTH = 16

const Pattern = v.pipe(
  v.string(),
  v.check((s) => validateSubject(s, { wildcards: true }).ok, 'is not a valid subject pattern'),
)
const TokenEntry = v.strictObject({
  token: v.pipe(v.string(), v.minLength(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)),
  publish: v.optional(v.array(Pattern), []),
  request: v.optional(v.array(Pattern), []),
  subscribe: v.optional(v.array(Pattern), []),
  observe: v.optional(v.array(Pattern), []),
  admin: v.optional(v.boolean(), false),
})
const TokenFile = v.record(v.pipe(v.string(), v.regex(/^[\w.-]{1,64}$/, 'invalid token name')), TokenEntry)

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()

/** Parses `{"<name>": {"token": "...", "publish": [...], "request": [...], "subscribe": [...], "observe": [...]}}`. */
export const parseTokens = (input: unknown): TokenTable => {
  const result = v.safeParse(TokenFile, input)
  if (!result.success) {
    throw new Error(firstIssue(result.issues))
  }
  const entries = Object.entries(result.output).map(([name, entry]) => ({
    digest: digest(entry.token),
    principal: {
      name,
      scopes: {
        publish: entry.publish,
        request: entry.request,
        subscribe: entry.subscribe,
        observe: entry.observe,
      },
      admin: entry.admin,
    },
  }))
  const seen = new Set<string>()
  for (const entry of entries) {
    const key = entry.digest.toString('hex')
    if (seen.has(key)) throw new Error(`${entry.principal.name}: token is used by another entry`)
    seen.add(key)
  }
  return {
    size: entries.length,
    authenticate(presented) {
      const candidate = digest(presented)
      let found: Principal | undefined
      for (const entry of entries) {
        if (timingSafeEqual(candidate, entry.digest)) found = entry.principal
      }
      return found
    },
  }
}

export const allows = (principal: Principal, action: ScopeAction, subject: string): boolean =>
  principal.scopes[action].some((pattern) => subjectMatches(pattern, subject))

/** A pattern may be subscribed to when one subscribe scope covers every subject it matches. */
export const maySubscribe = (principal: Principal, pattern: string): boolean =>
  principal.scopes.subscribe.some((scope) => patternCovers(scope, pattern))

/** Whether the principal may watch the requests sent on `pattern` (every subject it matches). */
export const mayObserve = (principal: Principal, pattern: string): boolean =>
  principal.scopes.observe.some((scope) => patternCovers(scope, pattern))
