/** Inbound webhook types (the payload's `type`); each has one entry in ./mappings.ts. */
export const WEBHOOK_TYPES = [
  'deployment.succeeded',
  'deployment.failed',
  'deployment.rolled_back',
  'health.degraded',
  'health.recovered',
  'performance.threshold_exceeded',
] as const

export type WebhookType = (typeof WEBHOOK_TYPES)[number]

const webhookTypes: ReadonlySet<string> = new Set(WEBHOOK_TYPES)

export const isWebhookType = (value: string): value is WebhookType => webhookTypes.has(value)
