import type { Span } from '@opentelemetry/api'
import type { Tracing } from '../../shared/telemetry/tracing'
import { ATTR_RELAY_OUTCOME } from './attributes'

export interface RelaySpans {
  /** A client span per relayed request, under the HTTP request's span. */
  start(subject: string, bytes: number, request: Span | undefined): Span
  /** Ends the span with its outcome; anything but `ok` is an error. */
  end(span: Span, outcome: string): void
}

export const relaySpans = (tracing: Tracing): RelaySpans => {
  return {
    start: (subject, bytes, request) =>
      tracing.startSpan(
        `request ${subject}`,
        {
          kind: 'client',
          attributes: tracing.natsAttributes({
            type: 'send',
            name: 'request',
            destination: subject,
            bodySize: bytes,
          }),
        },
        request && tracing.contextOf(request),
      ),
    end(span, outcome) {
      span.setAttribute(ATTR_RELAY_OUTCOME, outcome)
      if (outcome !== 'ok') tracing.fail(span, outcome)
      span.end()
    },
  }
}
