import { describeRoute } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { invalid, token, unauthorized, unavailable } from '../openapi/doc-parts'

export const subscribeDoc = describeRoute({
  ...token,
  tag: 'subscribe',
  summary: 'Server-Sent Events for a subject pattern',
  description:
    'For library event subjects the stream is served from JetStream: `id:` is the stream sequence, ' +
    '`event:` the event type, `data:` the event JSON; send `Last-Event-ID` to resume without loss. ' +
    'Other subjects are plain NATS subscriptions (optionally a queue group). Comment lines are heartbeats.',
  headers: { 'Last-Event-ID': { description: 'Resume after this stream sequence (wins over from)' } },
  examples: [
    { summary: 'Entity events from the start', query: { subject: 'library.entity.>', from: 'start' } },
  ],
  responses: {
    200: { description: 'The event stream', contentType: 'text/event-stream' },
    400: invalid,
    401: unauthorized,
    403: errorResponse(
      'forbidden (scopes), reserved_subject, or observe_required (requests answered by a service need an observe scope)',
    ),
    503: unavailable,
  },
})
