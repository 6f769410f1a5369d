import * as v from 'valibot'
import {
  CreatedSubscription,
  PublishAccepted,
  RELAY_TIMEOUT_HEADER,
  RELAY_TIMEOUT_QUERY,
  ReplayReply,
  SubscriptionDetails,
  SubscriptionList,
} from '../../shared/bridge-contract'
import { errorResponse, type OperationSpec } from '../../shared/openapi/document'

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

const invalid = errorResponse('Invalid input, with per-field issues in details')
const unauthorized = errorResponse('Missing or unknown token')
const forbidden = errorResponse("The token's scopes do not cover the subject")
const unavailable = errorResponse('NATS is not connected (Retry-After says when to retry)')
const notFound = errorResponse('No such subscription (or not visible to this token)')
const token = { security: 'bearer' } as const
const subscriptionName = { name: { description: 'Subscription name' } }

const health: OperationSpec[] = [
  {
    method: 'get',
    path: '/health',
    tag: 'health',
    summary: 'Liveness; 503 only when the NATS client gave up for good',
    responses: {
      200: { description: 'Alive', schema: v.object({ status: v.literal('ok'), uptime_s: v.number() }) },
    },
  },
  {
    method: 'get',
    path: '/ready',
    tag: 'health',
    summary: 'Readiness: NATS connected, the stream ensured and the subscription registry bound',
    responses: {
      200: { description: 'Ready', schema: v.object({ status: v.literal('ready') }) },
      503: errorResponse('Not ready; details.reason says why'),
    },
  },
  {
    method: 'get',
    path: '/health/detailed',
    tag: 'health',
    summary: 'NATS connection state, server, reconnects, JetStream stream and subscription registry state',
    responses: {
      200: {
        description: 'State',
        schema: v.looseObject({
          status: v.picklist(['ready', 'not_ready']),
          reason: v.nullable(v.string()),
          nats: v.looseObject({ state: v.string(), server: v.nullable(v.string()), reconnects: v.number() }),
          stream: v.looseObject({ name: v.string(), ready: v.boolean() }),
          registry: v.object({ ready: v.boolean(), last_error: v.nullable(v.string()) }),
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'health',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Text exposition format', contentType: 'text/plain' } },
  },
]

const v1: OperationSpec[] = [
  {
    ...token,
    method: 'post',
    path: '/v1/events',
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
  },
  {
    ...token,
    method: 'post',
    path: '/v1/request/:subject',
    tag: 'request',
    summary: 'NATS request/reply: the body goes to the subject, the reply comes back',
    params: { subject: { description: 'A NATS subject without wildcards' } },
    headers: {
      [RELAY_TIMEOUT_HEADER]: {
        description: `Reply timeout in ms, capped by the bridge configuration (the ${RELAY_TIMEOUT_QUERY} query parameter wins)`,
      },
    },
    body: v.unknown(),
    examples: [
      {
        summary: 'Validate a swap',
        path: '/v1/request/library.swap.validate',
        body: {
          from_entity_id: '6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f',
          to_entity_id: '0b7d4c1e-2f3a-4b5c-8d9e-1f2a3b4c5d6e',
        },
      },
    ],
    responses: {
      200: { description: "The responder's reply, with its headers", contentType: 'application/json' },
      400: errorResponse('invalid_subject, or json_too_deep: a JSON body nests deeper than MAX_JSON_DEPTH'),
      401: unauthorized,
      403: errorResponse(
        'forbidden (scopes), reserved_subject (inboxes, $ subjects, dead letters) or stream_subject (events go through /v1/events)',
      ),
      503: errorResponse('no_responders, or NATS is not connected'),
      504: errorResponse('timeout'),
    },
  },
  {
    ...token,
    method: 'get',
    path: '/v1/subscribe',
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
  },
  {
    ...token,
    method: 'post',
    path: '/v1/subscriptions',
    tag: 'subscriptions',
    summary: 'Create a webhook push subscription (a JetStream durable consumer)',
    description: 'Deliveries are signed per Standard Webhooks; the secret is returned this once.',
    examples: [
      {
        summary: 'Entity events to a receiver',
        body: {
          name: 'audit-log',
          subject: 'library.entity.>',
          url: 'https://hooks.example.com/library',
          max_deliver: 10,
        },
      },
    ],
    responses: {
      201: { description: 'Created', schema: CreatedSubscription },
      400: invalid,
      403: forbidden,
      409: errorResponse('A subscription with this name exists'),
      429: errorResponse(
        'A subscription limit is reached: code subscription_limit_principal (this token) or subscription_limit_total (the bridge)',
      ),
      503: unavailable,
    },
  },
  {
    ...token,
    method: 'get',
    path: '/v1/subscriptions',
    tag: 'subscriptions',
    summary: 'List the subscriptions the token may see',
    responses: {
      200: { description: 'Subscriptions', schema: SubscriptionList },
    },
  },
  {
    ...token,
    method: 'get',
    path: '/v1/subscriptions/:name',
    tag: 'subscriptions',
    summary: 'A subscription with delivery stats',
    params: subscriptionName,
    examples: [{ summary: 'By name', path: '/v1/subscriptions/audit-log' }],
    responses: { 200: { description: 'The subscription', schema: SubscriptionDetails }, 404: notFound },
  },
  {
    ...token,
    method: 'delete',
    path: '/v1/subscriptions/:name',
    tag: 'subscriptions',
    summary: 'Delete a subscription and its consumer',
    params: subscriptionName,
    examples: [{ summary: 'By name', path: '/v1/subscriptions/audit-log' }],
    responses: { 204: { description: 'Deleted' }, 404: notFound },
  },
  ...(['replay', 'pause', 'resume'] as const).map(
    (action): OperationSpec => ({
      ...token,
      method: 'post',
      path: `/v1/subscriptions/:name/${action}`,
      tag: 'subscriptions',
      summary: {
        replay: 'Replay the dead letters of a subscription',
        pause: 'Pause deliveries',
        resume: 'Resume deliveries',
      }[action],
      params: subscriptionName,
      examples: [{ summary: 'By name', path: `/v1/subscriptions/audit-log/${action}` }],
      responses: {
        [action === 'replay' ? 202 : 200]: {
          description: action === 'replay' ? 'Number of dead letters replayed' : 'The subscription',
          schema: action === 'replay' ? ReplayReply : SubscriptionDetails,
        },
        404: notFound,
      },
    }),
  ),
]

export const BRIDGE_OPERATIONS: OperationSpec[] = [...health, ...v1]
