import type { Span } from '@opentelemetry/api'
import type { Tracing } from '../../shared/telemetry/tracing'
import { ATTR_SSE_SOURCE } from './attributes'

/**
 * One span per batch of events written to an SSE connection: the events written in the same
 * turn of the event loop (what one socket write carries).
 */
export const sseBatchSpans = (tracing: Tracing, source: string) => {
  const { ATTR_MESSAGING_BATCH_MESSAGE_COUNT } = tracing.incubating
  let span: Span | undefined
  let count = 0
  const end = () => {
    span?.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, count)
    span?.end()
    span = undefined
    count = 0
  }
  return {
    /** Counts one written event, opening the batch's span if it is the first. */
    sent(): void {
      if (!span) {
        span = tracing.startSpan('sse send', { kind: 'producer', attributes: { [ATTR_SSE_SOURCE]: source } })
        setImmediate(end)
      }
      count++
    },
    end,
  }
}
