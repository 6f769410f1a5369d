import type { Link, Span } from '@opentelemetry/api'
import type { Tracing } from '../../shared/telemetry/tracing'
import type { SseEvent } from '../sse/sse-connection'
import { ATTR_SSE_SOURCE } from './attributes'

/** A batch links at most this many of its events' traces; the count says how many it carried. */
const MAX_EVENT_LINKS = 32

/**
 * One span per batch of events written to an SSE connection: the events written in the same
 * turn of the event loop (what one socket write carries). A long-lived stream would make one
 * endless trace, so each batch starts its own and links the subscribe request and the traces of
 * the events it carried (their publish spans).
 */
export const sseBatchSpans = (tracing: Tracing, source: string, subscribeRequest?: Span) => {
  const { ATTR_MESSAGING_BATCH_MESSAGE_COUNT } = tracing.incubating
  let span: Span | undefined
  let count = 0
  const end = () => {
    span?.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, count)
    span?.end()
    span = undefined
    count = 0
  }
  const eventLink = (event: SseEvent): Link | undefined => {
    const headers = event.headers
    if (!headers) return undefined
    const parent = tracing.extract((name) => headers.get(name))
    return parent && tracing.linkToContext(parent)
  }
  return {
    /** Counts one written event, opening the batch's span if it is the first. */
    sent(event: SseEvent): void {
      if (!span) {
        span = tracing.startSpan('sse send', {
          kind: 'producer',
          attributes: { [ATTR_SSE_SOURCE]: source },
          links: subscribeRequest ? [tracing.linkTo(subscribeRequest)] : [],
        })
        setImmediate(end)
      }
      count++
      if (count > MAX_EVENT_LINKS) return
      const link = eventLink(event)
      if (link) span.addLink(link)
    },
    end,
  }
}
