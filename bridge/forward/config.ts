import * as v from 'valibot'
import { firstIssue } from '../../shared/http-error'
import { validateSubject } from '../../shared/subject-validation'
import { ConfigError } from '../config'

export const DEFAULT_FORWARD_QUEUE = 'library-bridge'
export const DEFAULT_FORWARD_TIMEOUT_MS = 5_000
const MAX_FORWARD_TIMEOUT_MS = 600_000

export interface ForwardRoute {
  subject: string
  url: string
  queue: string
  timeoutMs: number
  /** False for event subjects: their publishers wait for a JetStream PubAck, not for us. */
  reply: boolean
}

export interface ForwardConfig {
  routes: ForwardRoute[]
  /** Sent as `Authorization: Bearer …` on every forwarded request. */
  token?: string
  /** Standard Webhooks secret (`whsec_…`); when set, every forwarded request is signed. */
  signingSecret?: string
}

const Subject = v.pipe(
  v.string(),
  v.check((s) => validateSubject(s, { wildcards: true }).ok, 'is not a valid NATS subject'),
)
/** The checks after `v.url` still run on a value it refused: parse without throwing. */
const parsedUrl = (s: string): URL | undefined => (URL.canParse(s) ? new URL(s) : undefined)
const HttpUrl = v.pipe(
  v.string(),
  v.url('must be an absolute URL'),
  v.check((s) => /^https?:$/.test(parsedUrl(s)?.protocol ?? 'http:'), 'must be an http:// or https:// URL'),
  v.check((s) => {
    const url = parsedUrl(s)
    return url === undefined || (url.username === '' && url.password === '')
  }, 'must not carry credentials (fetch refuses them): use FORWARD_TOKEN or FORWARD_SIGNING_SECRET'),
)
const RouteEntry = v.strictObject({
  subject: Subject,
  url: HttpUrl,
  queue: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,128}$/, 'is not a valid queue group name')),
    DEFAULT_FORWARD_QUEUE,
  ),
  timeout_ms: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_FORWARD_TIMEOUT_MS)),
    DEFAULT_FORWARD_TIMEOUT_MS,
  ),
  reply: v.optional(v.boolean(), true),
})
const RouteList = v.array(RouteEntry)

/** Parses the `FORWARD_ROUTES` JSON list; throws an Error naming the bad entry and field. */
export const parseForwardRoutes = (text: string | undefined): ForwardRoute[] => {
  if (text === undefined || text.trim() === '') return []
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('is not valid JSON')
  }
  const result = v.safeParse(RouteList, json)
  if (!result.success) {
    throw new Error(firstIssue(result.issues))
  }
  const seen = new Set<string>()
  return result.output.map((entry, index) => {
    const key = `${entry.subject} ${entry.queue}`
    if (seen.has(key))
      throw new Error(`${index}: subject '${entry.subject}' is listed twice in queue '${entry.queue}'`)
    seen.add(key)
    return {
      subject: entry.subject,
      url: entry.url,
      queue: entry.queue,
      timeoutMs: entry.timeout_ms,
      reply: entry.reply,
    }
  })
}

const MIN_SECRET_LENGTH = 16

export const parseForwardConfig = (env: Record<string, string | undefined>): ForwardConfig => {
  const read = (name: string) => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const fail = (variable: string, message: string) => new ConfigError(variable, message)
  let routes: ForwardRoute[]
  try {
    routes = parseForwardRoutes(read('FORWARD_ROUTES'))
  } catch (err) {
    throw fail('FORWARD_ROUTES', (err as Error).message)
  }
  const token = read('FORWARD_TOKEN')
  if (token !== undefined && token.length < MIN_SECRET_LENGTH)
    throw fail('FORWARD_TOKEN', `must be at least ${MIN_SECRET_LENGTH} characters`)
  const signingSecret = read('FORWARD_SIGNING_SECRET')
  if (signingSecret !== undefined && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(signingSecret))
    throw fail('FORWARD_SIGNING_SECRET', "must be a Standard Webhooks secret ('whsec_' + base64)")
  if (routes.length > 0 && token === undefined && signingSecret === undefined)
    throw fail('FORWARD_ROUTES', 'forward routes need FORWARD_TOKEN or FORWARD_SIGNING_SECRET')
  return { routes, token, signingSecret }
}
