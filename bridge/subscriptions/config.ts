import type { SsrfPolicy } from './ssrf-guard'

export interface WebhookConfig {
  /** Time a receiver has to answer one delivery. */
  timeoutMs: number
  /** JetStream ack wait of the delivery consumers; above the timeout so a live delivery is never redelivered. */
  ackWaitMs: number
  /** Retry backoff for subscriptions that do not set their own. */
  backoff: { initialMs: number; maxMs: number }
  /** Longest `Retry-After` honoured; longer ones are capped. */
  retryAfterMaxMs: number
  maxDeliverDefault: number
  maxInFlightDefault: number
  maxInFlightCap: number
  /** How long dead letters are kept. */
  deadLetterMaxAgeMs: number
  /** Subscriptions one principal, and all principals together, may have (counted in the shared registry). */
  limits: { perPrincipal: number; total: number }
  /** Bounds on retry pacing a subscription may ask for: no faster first retry, no more attempts. */
  pacing: { initialMinMs: number; maxDeliverMax: number }
  ssrf: SsrfPolicy
}
