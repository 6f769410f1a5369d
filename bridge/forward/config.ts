import * as v from 'valibot'
import { jsonText } from '../../shared/config-primitives'
import { validateSubject } from '../../shared/subject-validation'

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
/** `FORWARD_ROUTES`: a JSON list of routes, each subject listed once per queue group. */
export const ForwardRoutesText = v.pipe(
  jsonText(v.array(RouteEntry)),
  v.rawTransform(({ dataset, addIssue, NEVER }): ForwardRoute[] => {
    const seen = new Set<string>()
    for (const [index, entry] of dataset.value.entries()) {
      const key = `${entry.subject} ${entry.queue}`
      if (seen.has(key)) {
        addIssue({ message: `${index}: its subject is listed twice in the same queue group` })
        return NEVER
      }
      seen.add(key)
    }
    return dataset.value.map((entry) => ({
      subject: entry.subject,
      url: entry.url,
      queue: entry.queue,
      timeoutMs: entry.timeout_ms,
      reply: entry.reply,
    }))
  }),
)

const MIN_SECRET_LENGTH = 16

/** `FORWARD_TOKEN`. */
export const ForwardToken = v.pipe(
  v.string(),
  v.minLength(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
)

/** `FORWARD_SIGNING_SECRET`. */
export const ForwardSigningSecret = v.pipe(
  v.string(),
  v.regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "must be a Standard Webhooks secret ('whsec_' + base64)"),
)
