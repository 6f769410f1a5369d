import * as v from 'valibot'
import { LibraryEvent } from './events'
import { validateSubject } from './subject-validation'

/**
 * The bridge's HTTP contract, read by the bridge (routes, OpenAPI), by its clients in the
 * functions and by the tests. A field changed here changes on every side at once.
 */

/** Every 4xx/5xx answer of either service; clients read it without insisting on request_id. */
export const ErrorBody = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    request_id: v.optional(v.string()),
    details: v.optional(v.unknown()),
  }),
})
export type ErrorBody = v.InferOutput<typeof ErrorBody>

// POST /v1/events

/** `{"events": [...]}` is a batch, any other object is one event. */
export const PublishBody = v.union([
  LibraryEvent,
  v.object({ events: v.pipe(v.array(LibraryEvent), v.minLength(1)) }),
])
export type PublishBody = v.InferOutput<typeof PublishBody>

/** JetStream stored the event (or already held its event_id: `duplicate`). */
export const PublishAck = v.object({
  event_id: v.string(),
  stream: v.string(),
  seq: v.number(),
  duplicate: v.boolean(),
})
export type PublishAck = v.InferOutput<typeof PublishAck>

export const PublishFailure = v.object({
  event_id: v.string(),
  error: v.object({ code: v.string(), message: v.string() }),
})
export type PublishFailure = v.InferOutput<typeof PublishFailure>

export const PublishResult = v.union([PublishAck, PublishFailure])
export type PublishResult = v.InferOutput<typeof PublishResult>

/**
 * The 202 body (every result an ack), and the `details` of a 503 `nats_unavailable` when some
 * events were not acknowledged (each result an ack or a failure, to retry with the same event_id).
 */
export const PublishReply = v.object({ results: v.array(PublishResult) })
export type PublishReply = v.InferOutput<typeof PublishReply>

export const PublishAccepted = v.object({ results: v.array(PublishAck) })
export type PublishAccepted = v.InferOutput<typeof PublishAccepted>

// POST /v1/request/:subject

/** Reply timeout in milliseconds, capped by the bridge; the query parameter wins over the header. */
export const RELAY_TIMEOUT_HEADER = 'x-timeout-ms'
export const RELAY_TIMEOUT_QUERY = 'timeout_ms'
export const REQUEST_ID_HEADER = 'x-request-id'
/**
 * Set by a NATS service (micro, or a forward route) that answered with an error instead of a
 * reply; the relay copies them onto the HTTP response. NATS header names are case-sensitive.
 */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error'
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code'

/** 503: nothing listens on the subject. */
export const NO_RESPONDERS = 'no_responders'
/** 504: no reply within the timeout. */
export const RELAY_TIMEOUT = 'timeout'

// GET /v1/subscribe

const subjectPattern = v.check(
  (s: string) => validateSubject(s, { wildcards: true }).ok,
  'is not a valid subject pattern',
)

export const SubscribeQuery = v.object({
  subject: v.pipe(v.string('subject is required'), subjectPattern),
  /** `start`, `new`, or a stream sequence to resume after; `Last-Event-ID` wins over it. */
  from: v.optional(v.pipe(v.string(), v.maxLength(64))),
  queue: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'is not a valid queue group name'))),
})
export type SubscribeQuery = v.InferOutput<typeof SubscribeQuery>

// /v1/subscriptions

const SUBSCRIPTION_NAME = /^[A-Za-z0-9_-]{1,48}$/
const SECRET = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/

export const SubscriptionName = v.pipe(
  v.string(),
  v.regex(SUBSCRIPTION_NAME, 'must be 1 to 48 letters, digits, _ or -'),
)

const BackoffInput = v.strictObject({
  initial_ms: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(3_600_000)),
  max_ms: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(86_400_000)),
  factor: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(10))),
  jitter: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})

export const CreateSubscription = v.strictObject({
  name: SubscriptionName,
  subject: v.pipe(v.string(), subjectPattern),
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

const SUBSCRIPTION_STATES = ['active', 'paused', 'disabled'] as const
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number]

/** A subscription as the API shows it: never the secret. */
export const SubscriptionView = v.object({
  name: SubscriptionName,
  subject: v.string(),
  url: v.string(),
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
export type SubscriptionView = v.InferOutput<typeof SubscriptionView>

/** 201: the secret is shown this once. */
export const CreatedSubscription = v.object({ ...SubscriptionView.entries, secret: v.string() })

export const SubscriptionList = v.object({ subscriptions: v.array(SubscriptionView) })

/** The last failed delivery, in coarse terms ('connection failed', 'HTTP 500', …). */
export const SubscriptionLastError = v.object({
  message: v.string(),
  status: v.nullable(v.number()),
  event_id: v.nullable(v.string()),
  at: v.string(),
  attempt: v.number(),
})
export type SubscriptionLastError = v.InferOutput<typeof SubscriptionLastError>

export const SubscriptionStats = v.object({
  pending: v.number(),
  in_flight: v.number(),
  redelivered: v.number(),
  delivered_through_seq: v.number(),
  dead_letters: v.number(),
  replays_pending: v.number(),
})
export type SubscriptionStats = v.InferOutput<typeof SubscriptionStats>

/** GET /v1/subscriptions/:name, and the answer of pause and resume. */
export const SubscriptionDetails = v.object({
  ...SubscriptionView.entries,
  stats: SubscriptionStats,
  last_error: v.nullable(SubscriptionLastError),
})
export type SubscriptionDetails = v.InferOutput<typeof SubscriptionDetails>

/** 202 of POST /v1/subscriptions/:name/replay. */
export const ReplayReply = v.object({ name: v.string(), replayed: v.number() })
