import { generateWebhookSecret, webhookHeaders } from '../../../shared/webhook-signing'
import { type CallResult, call } from './call'
import { query } from './database'
import { readStream, type StreamMessage } from './stream'

export const SECRETS = {
  main: generateWebhookSecret(),
  rotatedOld: generateWebhookSecret(),
  rotatedNew: generateWebhookSecret(),
  other: generateWebhookSecret(),
}

/** Sources the webhook tests run against, passed as the WEBHOOK_SOURCES binding. */
export const WEBHOOK_SOURCES = JSON.stringify({
  monitor: { secrets: [SECRETS.main], allow: ['*'] },
  rotating: { secrets: [SECRETS.rotatedNew, SECRETS.rotatedOld], allow: ['*'] },
  'health-only': { secrets: [SECRETS.main], allow: ['health.degraded', 'health.recovered'] },
  tiny: { secrets: [SECRETS.main], allow: ['*'], max_body_bytes: 512 },
})

export const nowSeconds = () => Math.floor(Date.now() / 1000)

export const newWebhookId = () => `msg_${crypto.randomUUID()}`

export interface SendOptions {
  secret?: string
  id?: string
  timestamp?: number
  /** Replaces the computed headers entirely (after signing), e.g. to drop or garble one. */
  headers?: (signed: Record<string, string>) => Record<string, string>
  /** The body actually sent, when it should differ from the signed one. */
  sentBody?: string
  contentType?: string
}

/** The success body (`events`) or the error body (`error`), whichever the status says. */
export interface WebhookBody {
  status: string
  webhook_id: string
  events: Array<{ event_id: string; event_type: string }>
  error: { code: string; message: string; details?: unknown }
}

/** Signs `payload` like a Standard Webhooks sender and POSTs it to /webhooks/{source}. */
export const sendWebhook = async (
  source: string,
  payload: unknown,
  options: SendOptions = {},
): Promise<CallResult<WebhookBody>> => {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  const signed: Record<string, string> = {
    ...(await webhookHeaders({
      secret: options.secret ?? SECRETS.main,
      id: options.id ?? newWebhookId(),
      timestamp: options.timestamp ?? nowSeconds(),
      body,
    })),
  }
  const headers = {
    'content-type': options.contentType ?? 'application/json',
    ...(options.headers ? options.headers(signed) : signed),
  }
  return call<WebhookBody>(`/webhooks/${source}`, {
    method: 'POST',
    body: options.sentBody ?? body,
    headers,
    key: null,
    env: { WEBHOOK_SOURCES },
  })
}

export const performancePayload = (entityId: string) => ({
  type: 'performance.threshold_exceeded',
  timestamp: new Date().toISOString(),
  data: { entity_id: entityId, metric: 'drawdown_pct', value: 12.5, threshold: 10, window: '1h' },
})

export const healthPayload = (type: 'health.degraded' | 'health.recovered', component: string) => ({
  type,
  timestamp: new Date().toISOString(),
  data: {
    component,
    status: type === 'health.degraded' ? 'degraded' : 'healthy',
    details: { error_rate: 0.2 },
  },
})

export interface OutboxEvent {
  event_id: string
  event_type: string
  payload: Record<string, unknown>
  delivered_at: Date | null
  stream_seq: string | null
}

export const outboxEventsWhere = (field: 'entity_id' | 'deployment_id', value: string) =>
  query<OutboxEvent>(
    `select event_id, event_type, payload, delivered_at, stream_seq::text as stream_seq
       from outbox where payload->>'${field}' = $1 order by id`,
    [value],
  )

export const outboxEventsForComponent = (component: string) =>
  query<OutboxEvent>(
    `select event_id, event_type, payload, delivered_at, stream_seq::text as stream_seq
       from outbox where payload->'data'->>'component' = $1 order by id`,
    [component],
  )

export const receiptCount = async (source: string, webhookId: string) => {
  const [row] = await query<{ n: number }>(
    'select count(*)::int as n from webhook_receipts where source = $1 and webhook_id = $2',
    [source, webhookId],
  )
  return row!.n
}

/**
 * Reads `subject` from the stream after `afterSeq`, one message at a time, up to and including the
 * message whose event_id is `untilEventId`.
 */
export const readStreamUntil = async (
  subject: string,
  afterSeq: number,
  untilEventId: string,
): Promise<StreamMessage[]> => {
  const seen: StreamMessage[] = []
  let after = afterSeq
  for (;;) {
    const [message] = await readStream(subject, after, 1)
    if (!message) throw new Error(`stream ended before ${untilEventId}`)
    seen.push(message)
    if (message.data.event_id === untilEventId) return seen
    after = message.seq
  }
}
