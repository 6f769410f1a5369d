import type { Span } from '@opentelemetry/api'
import type { Tracing } from '../../shared/telemetry/tracing'
import type { DeliveryOutcome } from '../subscriptions/deliver'
import {
  ATTR_WEBHOOK_ATTEMPT,
  ATTR_WEBHOOK_DEAD_LETTERED,
  ATTR_WEBHOOK_OUTCOME,
  ATTR_WEBHOOK_SUBSCRIPTION,
} from './attributes'

export interface WebhookAttempt {
  subscription: string
  url: string
  /** 1 for the first delivery. */
  attempt: number
  eventId: string
  /** The trace the NATS message carries (its publish span). */
  parent: ReturnType<Tracing['extract']>
}

export interface WebhookSpans {
  /** An HTTP client span per delivery attempt. */
  start(attempt: WebhookAttempt): Span
  end(span: Span, outcome: DeliveryOutcome, deadLettered: boolean): void
}

/** The URL without credentials or query, which may hold secrets. */
const safeUrl = (raw: string): URL | undefined => {
  try {
    const url = new URL(raw)
    url.username = ''
    url.password = ''
    url.search = ''
    url.hash = ''
    return url
  } catch {
    return undefined
  }
}

export const webhookSpans = (tracing: Tracing): WebhookSpans => {
  const {
    ATTR_HTTP_REQUEST_METHOD,
    ATTR_HTTP_REQUEST_RESEND_COUNT,
    ATTR_HTTP_RESPONSE_STATUS_CODE,
    ATTR_SERVER_ADDRESS,
    ATTR_URL_FULL,
  } = tracing.semconv
  const { ATTR_MESSAGING_MESSAGE_ID } = tracing.incubating
  return {
    start({ subscription, url, attempt, eventId, parent }) {
      const target = safeUrl(url)
      return tracing.startSpan(
        'POST',
        {
          kind: 'client',
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: 'POST',
            [ATTR_URL_FULL]: target?.href,
            [ATTR_SERVER_ADDRESS]: target?.hostname,
            [ATTR_HTTP_REQUEST_RESEND_COUNT]: attempt > 1 ? attempt - 1 : undefined,
            [ATTR_MESSAGING_MESSAGE_ID]: eventId,
            [ATTR_WEBHOOK_SUBSCRIPTION]: subscription,
            [ATTR_WEBHOOK_ATTEMPT]: attempt,
          },
        },
        parent,
      )
    },
    end(span, outcome, deadLettered) {
      span.setAttributes({
        [ATTR_WEBHOOK_OUTCOME]: outcome.kind,
        [ATTR_WEBHOOK_DEAD_LETTERED]: deadLettered,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: 'status' in outcome ? outcome.status : undefined,
      })
      if (outcome.kind !== 'delivered')
        tracing.fail(
          span,
          'status' in outcome && outcome.status ? String(outcome.status) : outcome.kind,
          outcome.error,
        )
      span.end()
    },
  }
}
