import * as v from 'valibot'
import { validateSubject } from '../../shared/subject-validation'

export const SUBSCRIPTION_NAME = /^[A-Za-z0-9_-]{1,48}$/
const SECRET = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/

export const SubscriptionName = v.pipe(
  v.string(),
  v.regex(SUBSCRIPTION_NAME, 'must be 1 to 48 letters, digits, _ or -'),
)

export const BackoffInput = v.strictObject({
  initial_ms: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(3_600_000)),
  max_ms: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(86_400_000)),
  factor: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(10))),
  jitter: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})

export const CreateSubscription = v.strictObject({
  name: SubscriptionName,
  subject: v.pipe(
    v.string(),
    v.check((s) => validateSubject(s, { wildcards: true }).ok, 'is not a valid subject pattern'),
  ),
  url: v.pipe(v.string(), v.maxLength(2048), v.url('is not a URL')),
  secret: v.optional(
    v.pipe(v.string(), v.regex(SECRET, 'must be whsec_ followed by base64 (at least 16 bytes)')),
  ),
  max_deliver: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000))),
  backoff: v.optional(
    v.pipe(
      BackoffInput,
      v.check((b) => b.max_ms >= b.initial_ms, 'max_ms must not be below initial_ms'),
    ),
  ),
  max_in_flight: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  ordered: v.optional(v.boolean()),
})
export type CreateSubscription = v.InferOutput<typeof CreateSubscription>

export const SUBSCRIPTION_STATES = ['active', 'paused', 'disabled'] as const
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number]

/** What the registry stores per subscription (the KV value). */
export const SubscriptionRecord = v.object({
  name: SubscriptionName,
  subject: v.string(),
  url: v.string(),
  secret: v.string(),
  max_deliver: v.number(),
  backoff: v.object({
    initial_ms: v.number(),
    max_ms: v.number(),
    factor: v.number(),
    jitter: v.number(),
  }),
  max_in_flight: v.number(),
  ordered: v.boolean(),
  state: v.picklist(SUBSCRIPTION_STATES),
  state_reason: v.nullable(v.string()),
  created_at: v.string(),
  updated_at: v.string(),
  created_by: v.string(),
})
export type SubscriptionRecord = v.InferOutput<typeof SubscriptionRecord>

/** Last delivery problem, kept apart from the record so writing it does not restart workers. */
export const DeliveryStatus = v.object({
  last_error: v.nullable(
    v.object({
      message: v.string(),
      status: v.nullable(v.number()),
      event_id: v.nullable(v.string()),
      at: v.string(),
      attempt: v.number(),
    }),
  ),
})
export type DeliveryStatus = v.InferOutput<typeof DeliveryStatus>

/** The record as the API shows it: never the secret. */
export const publicView = ({ secret: _secret, ...rest }: SubscriptionRecord) => rest
