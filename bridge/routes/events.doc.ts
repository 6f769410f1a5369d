import { PublishAccepted, PublishBody } from '../../shared/bridge-contract'
import { describeRoute, type RouteDoc } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { forbidden, token, unauthorized, unavailable } from '../openapi/doc-parts'

const EVENT_EXAMPLE = {
  event_id: '5b0f8c3e-2d1a-4e6b-9c7d-8e9f0a1b2c3d',
  event_type: 'entity.registered',
  timestamp: '2025-01-15T10:30:00Z',
  source: 'library-functions',
  entity_id: '6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f',
  entity_name: 'momentum-breakout',
  entity_type: 'strategy',
  version: '1.0.0',
  data: { description: 'Buys 20-day highs' },
}

const publish: RouteDoc = {
  ...token,
  tag: 'events',
  summary: 'Publish one event or a batch onto JetStream',
  description:
    'Each event is validated against its schema; the subject is `library.<event_type>`; ' +
    '`Nats-Msg-Id` is the event_id, so a repeat within the duplicate window answers `duplicate: true`. ' +
    'Answers 202 only after the PubAck.',
  examples: [
    { summary: 'One event', body: EVENT_EXAMPLE },
    { summary: 'A batch', body: { events: [EVENT_EXAMPLE] } },
  ],
  responses: {
    202: { description: 'Acknowledged by JetStream, per event', schema: PublishAccepted },
    400: errorResponse(
      'invalid_input with per-field issues in details, or json_too_deep: data or metadata nests deeper than MAX_JSON_DEPTH',
    ),
    401: unauthorized,
    403: forbidden,
    413: errorResponse('Body or batch too large'),
    503: {
      ...unavailable,
      description:
        'nats_unavailable: NATS is not connected, or some events were not acknowledged; stream_full: the stream (its STREAM_MAX_BYTES with discard new, or JetStream storage) refused some events. details.results holds an ack or a failure per event (retry with the same event_id)',
    },
  },
}

/** The handler reads and checks the body itself. */
export const publishDoc = describeRoute(publish, { body: PublishBody })
