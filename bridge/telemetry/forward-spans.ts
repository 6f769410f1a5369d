import type { Span } from '@opentelemetry/api'
import type { Tracing } from '../../shared/telemetry/tracing'

export interface ForwardSpans {
  /** A consumer span per forwarded message, under the trace its `traceparent` header names. */
  start(forward: {
    subject: string
    queue?: string
    url: string
    parent: ReturnType<Tracing['extract']>
  }): Span
  /** `status` is the target's answer, absent when it gave none (`errorType` then says why). */
  end(span: Span, result: { status?: number; errorType?: string; message?: string }): void
}

export const forwardSpans = (tracing: Tracing): ForwardSpans => {
  const { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_FULL } = tracing.semconv
  return {
    start: ({ subject, queue, url, parent }) =>
      tracing.startSpan(
        `process ${subject}`,
        {
          kind: 'consumer',
          attributes: {
            ...tracing.natsAttributes({
              type: 'process',
              name: 'forward',
              destination: subject,
              consumerGroup: queue,
            }),
            [ATTR_HTTP_REQUEST_METHOD]: 'POST',
            [ATTR_URL_FULL]: url,
          },
        },
        parent,
      ),
    end(span, { status, errorType, message }) {
      if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      if (errorType !== undefined) tracing.fail(span, errorType, message)
      else if (status !== undefined && status >= 400) tracing.fail(span, String(status), message)
      span.end()
    },
  }
}
