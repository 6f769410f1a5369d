import type { Span } from '@opentelemetry/api'
import type { PublishAck, PublishFailure } from '../../shared/bridge-contract'
import type { LibraryEvent } from '../../shared/events'
import type { Tracing } from '../../shared/telemetry/tracing'
import {
  ATTR_EVENT_TYPE,
  ATTR_NATS_DUPLICATE,
  ATTR_NATS_STREAM_NAME,
  ATTR_NATS_STREAM_SEQUENCE,
  ATTR_PUBACK_LATENCY_MS,
} from './attributes'

export interface PublishSpans {
  /**
   * A producer span per event. Its parent is the trace the event carries in
   * `metadata.traceparent` (linked to `request`), else `request`.
   */
  start(event: LibraryEvent, subject: string, bytes: number, request: Span | undefined): Span
  acked(span: Span, ack: Pick<PublishAck, 'stream' | 'seq' | 'duplicate'>, latencyMs: number): void
  failed(span: Span, error: PublishFailure['error']): void
}

export const publishSpans = (tracing: Tracing): PublishSpans => {
  return {
    start(event, subject, bytes, request) {
      const own = tracing.extract((name) => {
        const value = event.metadata[name]
        return typeof value === 'string' ? value : undefined
      })
      const parent = own ?? (request ? tracing.contextOf(request) : undefined)
      return tracing.startSpan(
        `send ${subject}`,
        {
          kind: 'producer',
          attributes: {
            ...tracing.natsAttributes({
              type: 'send',
              name: 'publish',
              destination: subject,
              messageId: event.event_id,
              bodySize: bytes,
            }),
            [ATTR_EVENT_TYPE]: event.event_type,
          },
          links: own && request ? [tracing.linkTo(request)] : undefined,
        },
        parent,
      )
    },
    acked(span, ack, latencyMs) {
      span.setAttributes({
        [ATTR_NATS_STREAM_NAME]: ack.stream,
        [ATTR_NATS_STREAM_SEQUENCE]: ack.seq,
        [ATTR_NATS_DUPLICATE]: ack.duplicate,
        [ATTR_PUBACK_LATENCY_MS]: latencyMs,
      })
      span.end()
    },
    failed(span, error) {
      tracing.fail(span, error.code, error.message)
      span.end()
    },
  }
}
