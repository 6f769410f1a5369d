import * as v from 'valibot'
import { firstIssue } from '../../shared/http-error'
import { DEFAULT_TOLERANCE_SECONDS } from '../../shared/webhook-signing'
import { WEBHOOK_TYPES, type WebhookType } from './types'

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024

const SourceName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'source names are lower-case letters, digits, - and _ (at most 64)'),
)

const Secret = v.pipe(
  v.string(),
  v.regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, 'must be whsec_ followed by base64'),
)

const SourceConfig = v.strictObject({
  /** Every secret is tried; list the old and the new one while rotating. */
  secrets: v.pipe(v.array(Secret), v.minLength(1, 'at least one secret is required')),
  /** Inbound types this source may send; ["*"] allows every mapped type. */
  allow: v.pipe(
    v.array(v.picklist([...WEBHOOK_TYPES, '*'], `must be "*" or one of ${WEBHOOK_TYPES.join(', ')}`)),
    v.minLength(1, 'allow at least one type (or "*")'),
  ),
  tolerance_seconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)),
    DEFAULT_TOLERANCE_SECONDS,
  ),
  max_body_bytes: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(256), v.maxValue(1024 * 1024)),
    DEFAULT_MAX_BODY_BYTES,
  ),
})
export type SourceConfig = v.InferOutput<typeof SourceConfig>

export const WebhookSources = v.record(SourceName, SourceConfig)
export type WebhookSources = v.InferOutput<typeof WebhookSources>

/** Never quotes the value: the binding holds secrets. */
const describeIssues = (issues: readonly v.BaseIssue<unknown>[]) =>
  issues.map((issue) => firstIssue([issue])).join('; ')

/**
 * The `WEBHOOK_SOURCES` binding: JSON text mapping each source name to its config. Unset means no
 * source is configured, so every `/webhooks/{source}` is a 404.
 */
export const WebhookSourcesBinding = v.pipe(
  v.optional(v.string(), '{}'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    let json: unknown
    try {
      json = JSON.parse(dataset.value.trim() === '' ? '{}' : dataset.value)
    } catch {
      addIssue({ message: 'must be valid JSON' })
      return NEVER
    }
    const result = v.safeParse(WebhookSources, json)
    if (result.success) return result.output
    addIssue({ message: `is invalid: ${describeIssues(result.issues)}` })
    return NEVER
  }),
)

export const isAllowed = (source: SourceConfig, type: WebhookType): boolean =>
  source.allow.includes('*') || source.allow.includes(type)
