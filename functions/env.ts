import * as v from 'valibot'
import { intText, jsonText } from '../shared/config-primitives'
import { firstIssue, HttpError } from '../shared/http-error'
import { DEFAULT_MAX_JSON_DEPTH } from '../shared/json-depth'
import type { TraceContext } from '../shared/trace-context'
import type { Db } from './db/sql'
import type { OutboxAware } from './outbox/dispatch'
import { WebhookSourcesBinding } from './webhooks/sources'

export const SCOPES = ['read', 'write'] as const
export type Scope = (typeof SCOPES)[number]

const ApiKeyEntry = v.strictObject({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'name must be 1-64 of A-Z a-z 0-9 _ . -')),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hex digits')),
  scopes: v.pipe(v.array(v.picklist(SCOPES)), v.minLength(1, 'at least one scope')),
})
export type ApiKeyEntry = v.InferOutput<typeof ApiKeyEntry>

// valibot's default message quotes the value (credentials included) into the bad_environment body
const HttpUrl = v.pipe(v.string(), v.url('must be a URL'), v.regex(/^https?:\/\//, 'must be an http(s) URL'))

/** Every binding the Worker reads, with its default; see wrangler.toml for which are secrets. */
const BINDINGS = {
  DATABASE_URL: v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL')),
  BRIDGE_URL: HttpUrl,
  BRIDGE_TOKEN: v.pipe(v.string(), v.minLength(1)),
  API_KEYS: jsonText(v.pipe(v.array(ApiKeyEntry), v.minLength(1, 'at least one key'))),
  PG_WS_PROXY: v.optional(v.pipe(v.string(), v.regex(/^(wss?:\/\/)?[^/\s]+\/?$/, 'must be host:port'))),
  MAX_BODY_BYTES: intText(65_536, 1_024, 1_048_576),
  /** Nesting allowed inside free-form JSON fields (entity config and metadata, …). */
  MAX_JSON_DEPTH: intText(DEFAULT_MAX_JSON_DEPTH, 1, 1_000),
  OUTBOX_BATCH_SIZE: intText(50, 1, 500),
  BRIDGE_TIMEOUT_MS: intText(5_000, 100, 60_000),
  WEBHOOK_SOURCES: WebhookSourcesBinding,
  SWAP_TIMEOUT_MS: intText(10_000, 100, 120_000),
  OUTBOX_RETENTION_DAYS: intText(7, 1, 3_650),
  /** Bearer token the bridge's forward routes send to /internal. */
  FORWARD_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))),
  /** Alternatively, Standard Webhooks signatures with this secret (signed forward routes, webhook subscriptions). */
  FORWARD_SIGNING_SECRET: v.optional(
    v.pipe(v.string(), v.regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "must be 'whsec_' + base64")),
  ),
} as const

type BindingName = keyof typeof BINDINGS
export type Config = { [K in BindingName]: v.InferOutput<(typeof BINDINGS)[K]> }

export type Bindings = Env & Partial<Record<BindingName, string>>

export type Variables = {
  requestId: string
  config: Config
  /** Its outbox writes are delivered after the response (see outbox/dispatch.ts). */
  db: Db & OutboxAware
  actor: string
  /** The caller's W3C trace context; undefined without a valid `traceparent`. */
  trace: TraceContext | undefined
  /** The raw body of an /internal request, read once within its size limit by the forward-token check. */
  forwardedBody: string
}

export type HonoEnv = { Bindings: Bindings; Variables: Variables }

export interface BindingIssue {
  binding: BindingName
  message: string
}

const cache = new WeakMap<object, { config?: Config; issues: BindingIssue[] }>()

/** Parses every binding once per env object; the result names each missing or invalid binding. */
export const parseBindings = (env: Bindings): { config?: Config; issues: BindingIssue[] } => {
  const cached = cache.get(env)
  if (cached) return cached
  const issues: BindingIssue[] = []
  const config: Record<string, unknown> = {}
  const raw = env as unknown as Record<string, unknown>
  for (const [name, schema] of Object.entries(BINDINGS) as [BindingName, v.GenericSchema][]) {
    const value = raw[name] === '' ? undefined : raw[name]
    const result = v.safeParse(schema, value)
    if (result.success) config[name] = result.output
    else
      issues.push({
        binding: name,
        // never the value: a malformed API_KEYS or WEBHOOK_SOURCES must not show its secrets
        message: value === undefined ? 'is not set' : firstIssue(result.issues),
      })
  }
  const parsed = issues.length === 0 ? { config: config as Config, issues } : { issues }
  cache.set(env, parsed)
  return parsed
}

export const loadConfig = (env: Bindings): Config => {
  const { config, issues } = parseBindings(env)
  if (config) return config
  throw new HttpError(
    500,
    'bad_environment',
    `The service is misconfigured: ${issues.map((i) => `${i.binding} ${i.message}`).join('; ')}`,
    issues,
  )
}
