/**
 * The AsyncAPI 3.0 document of the NATS surface (`schemas/asyncapi.json`), built from the same
 * valibot schemas as the JSON Schema files beside it. `npm run schemas` writes it; the bridge
 * serves it at `/asyncapi.json`.
 */
import { toJsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { EVENT_TYPE_HEADER } from '../bridge/nats/publisher'
import {
  ATTEMPTS,
  DEAD_AT,
  LAST_ERROR,
  ORIGINAL_SEQ,
  ORIGINAL_STREAM,
  ORIGINAL_SUBJECT,
} from '../bridge/subscriptions/dead-letters'
import {
  DEAD_LETTER_STREAM,
  deadLetterSubject,
  REPLAY_STREAM,
  replaySubject,
} from '../bridge/subscriptions/store'
import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../shared/bridge-contract'
import { EVENT_SOURCE, EVENT_TYPES, type EventType } from '../shared/event-types'
import { EVENT_SCHEMAS, type LibraryEventInput } from '../shared/events'
import {
  STREAM_NAME,
  STREAM_SUBJECTS,
  SWAP_COMMAND_SUBJECT,
  SWAP_VALIDATE_SUBJECT,
  subjectFor,
} from '../shared/subjects'
import { SwapCommand, SwapRequest, SwapResponse, SwapValidationReply } from '../shared/swap'

type Json = Record<string, unknown>

/** What executors send on `library.swap.validate`: a SwapRequest, usually their whole SwapCommand. */
export const SwapValidateRequest = v.looseObject(SwapRequest.entries)

const NATS_MSG_ID_HEADER = 'Nats-Msg-Id'
const TRACEPARENT_HEADER = 'traceparent'
/** The edge client's span, as the functions record it in the event's metadata. */
const CLIENT_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01'
/** The same trace, one span on: the bridge's publish (or relay) span when tracing is on. */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const TRACEPARENT_PATTERN = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'

// fixed ids and times: the committed document must not change from one generation to the next
const ENTITY = '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
const OTHER_ENTITY = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'
const DEPLOYMENT = '2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901'
const SWAP = 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f'
const AT = '2026-01-15T09:30:00.000Z'

const ids = (n: number) => ({
  event_id: `0b9e6c1a-7f2d-4c3b-9a8e-${String(n).padStart(12, '0')}`,
  timestamp: AT,
  source: EVENT_SOURCE,
  metadata: { request_id: `req-${n}`, actor: 'api-key:ci', traceparent: CLIENT_TRACEPARENT },
})

const swapParties = { from_entity_id: ENTITY, to_entity_id: OTHER_ENTITY }

/** One realistic event per type; every one is checked against its schema below and in the tests. */
const EXAMPLE_EVENTS: { [T in EventType]: Extract<LibraryEventInput, { event_type: T }> } = {
  'entity.registered': {
    ...ids(1),
    event_type: 'entity.registered',
    entity_id: ENTITY,
    entity_name: 'momentum-eu',
    entity_type: 'strategy',
    version: '1.2.0',
    data: { description: 'EU equities momentum', status: 'registered', config: { symbols: ['SAP', 'ASML'] } },
  },
  'entity.updated': {
    ...ids(2),
    event_type: 'entity.updated',
    entity_id: ENTITY,
    data: { changes: { description: { from: 'EU equities momentum', to: 'EU large caps momentum' } } },
  },
  'entity.deleted': {
    ...ids(3),
    event_type: 'entity.deleted',
    entity_id: ENTITY,
    data: { entity_name: 'momentum-eu', version: '1.2.0', reason: 'retired' },
  },
  'entity.validated': {
    ...ids(4),
    event_type: 'entity.validated',
    entity_id: ENTITY,
    data: { valid: true, results: [{ rule: 'config.symbols', passed: true, message: 'symbols are listed' }] },
  },
  'deployment.started': {
    ...ids(5),
    event_type: 'deployment.started',
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'paper', version: '1.2.0' },
  },
  'deployment.completed': {
    ...ids(6),
    event_type: 'deployment.completed',
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    environment: 'paper',
    version: '1.2.0',
    data: { duration_ms: 4200 },
  },
  'deployment.failed': {
    ...ids(7),
    event_type: 'deployment.failed',
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'live', version: '1.2.0', error: 'risk limits not configured' },
  },
  'deployment.rolled_back': {
    ...ids(8),
    event_type: 'deployment.rolled_back',
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'live', version: '1.2.0', reason: 'drawdown above 3%' },
  },
  'swap.initiated': {
    ...ids(9),
    event_type: 'swap.initiated',
    swap_id: SWAP,
    data: { ...swapParties, reason: 'better sharpe', initiated_by: 'ops@desk', validate_only: false },
  },
  'swap.validated': {
    ...ids(10),
    event_type: 'swap.validated',
    swap_id: SWAP,
    data: { ...swapParties, valid: true, message: 'both entities are validated', validation_results: null },
  },
  'swap.completed': {
    ...ids(11),
    event_type: 'swap.completed',
    swap_id: SWAP,
    data: { ...swapParties, status: 'completed', message: 'swapped in 120 ms' },
  },
  'swap.failed': {
    ...ids(12),
    event_type: 'swap.failed',
    swap_id: SWAP,
    data: { ...swapParties, status: 'failed', message: 'executor timed out', error_code: 'timeout' },
  },
  'swap.rolled_back': {
    ...ids(13),
    event_type: 'swap.rolled_back',
    swap_id: SWAP,
    data: { ...swapParties, reason: 'regression after the swap', message: 'previous entity restored' },
  },
  'health.degraded': {
    ...ids(14),
    event_type: 'health.degraded',
    data: { component: 'market-data-feed', status: 'degraded', details: { lag_ms: 2500 } },
  },
  'health.recovered': {
    ...ids(15),
    event_type: 'health.recovered',
    data: { component: 'market-data-feed', status: 'healthy' },
  },
  'performance.threshold_exceeded': {
    ...ids(16),
    event_type: 'performance.threshold_exceeded',
    entity_id: ENTITY,
    data: { metric: 'max_drawdown', value: 0.042, threshold: 0.03, window: '1d' },
  },
}

const SWAP_COMMAND_EXAMPLE = {
  ...swapParties,
  reason: 'better sharpe',
  initiated_by: 'ops@desk',
  validate_only: false,
  swap_id: SWAP,
  action: 'execute',
}
const SWAP_RESPONSE_EXAMPLE = {
  swap_id: SWAP,
  status: 'completed',
  success: true,
  message: 'swapped in 120 ms',
  validation_results: null,
}
const SWAP_VALIDATION_REPLY_EXAMPLE = {
  valid: true,
  message: 'both entities are validated',
  validation_results: { from_entity_id: 'validated', to_entity_id: 'validated' },
}

/** Every payload example in the document, with the valibot schema it must pass. */
export const PAYLOAD_EXAMPLES: { name: string; schema: v.GenericSchema; payload: unknown }[] = [
  ...EVENT_TYPES.map((type) => ({ name: type, schema: EVENT_SCHEMAS[type], payload: EXAMPLE_EVENTS[type] })),
  { name: 'SwapCommand', schema: SwapCommand, payload: SWAP_COMMAND_EXAMPLE },
  { name: 'SwapResponse', schema: SwapResponse, payload: SWAP_RESPONSE_EXAMPLE },
  { name: 'SwapValidateRequest', schema: SwapValidateRequest, payload: SWAP_COMMAND_EXAMPLE },
  { name: 'SwapValidationReply', schema: SwapValidationReply, payload: SWAP_VALIDATION_REPLY_EXAMPLE },
]

// AsyncAPI's default schema format is a superset of JSON Schema draft-07
const schemaOf = (schema: v.GenericSchema): Json => {
  const { $schema: _, ...rest } = toJsonSchema(schema, {
    target: 'draft-07',
    typeMode: 'ignore',
    errorMode: 'ignore',
  }) as Json
  return rest
}

const ref = (path: string) => ({ $ref: `#/${path}` })

const eventHeaders = (type: EventType): Json => ({
  type: 'object',
  required: [NATS_MSG_ID_HEADER, EVENT_TYPE_HEADER],
  properties: {
    [NATS_MSG_ID_HEADER]: {
      type: 'string',
      format: 'uuid',
      description:
        'The event_id. JetStream stores one message per id within the duplicate window; consumers dedupe on event_id beyond it.',
    },
    [EVENT_TYPE_HEADER]: {
      type: 'string',
      const: type,
      description: 'The event_type, readable without parsing the body.',
    },
    'Content-Type': { type: 'string', const: 'application/json' },
    [TRACEPARENT_HEADER]: {
      type: 'string',
      pattern: TRACEPARENT_PATTERN,
      description:
        "W3C trace context. With tracing on, it names the bridge's publish span, a child of the trace in the " +
        "event's metadata.traceparent; otherwise it is that value: the trace of the request that caused the event.",
    },
  },
})

const traceHeaders: Json = {
  type: 'object',
  properties: {
    [TRACEPARENT_HEADER]: {
      type: 'string',
      pattern: TRACEPARENT_PATTERN,
      description:
        "W3C trace context: the bridge's relay span with tracing on, otherwise the HTTP caller's traceparent.",
    },
  },
}

const replyHeaders: Json = {
  type: 'object',
  properties: {
    [SERVICE_ERROR_HEADER]: {
      type: 'string',
      description:
        'Set by a responder that answers with an error instead of a reply (NATS services); the body then need not be a SwapResponse.',
    },
    [SERVICE_ERROR_CODE_HEADER]: {
      type: 'string',
      pattern: '^[0-9]{3}$',
      description: 'The error’s code, an HTTP-like status, next to Nats-Service-Error.',
    },
  },
}

const deadLetterHeaders: Json = {
  type: 'object',
  required: [ORIGINAL_SUBJECT, ORIGINAL_STREAM, ORIGINAL_SEQ, LAST_ERROR, ATTEMPTS, DEAD_AT],
  properties: {
    [NATS_MSG_ID_HEADER]: {
      type: 'string',
      description: 'dlq:<subscription>:<stream>:<sequence> of the message that died (not the event_id).',
    },
    [ORIGINAL_SUBJECT]: { type: 'string', description: 'Subject the event was first published on.' },
    [ORIGINAL_STREAM]: { type: 'string', description: `Stream it was first stored in (${STREAM_NAME}).` },
    [ORIGINAL_SEQ]: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Its sequence in that stream.' },
    [LAST_ERROR]: { type: 'string', maxLength: 1000, description: 'Why the last delivery attempt failed.' },
    [ATTEMPTS]: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Delivery attempts made.' },
    [DEAD_AT]: { type: 'string', format: 'date-time', description: 'When the message was dead-lettered.' },
  },
}

const jetStream = (stream: string, extra: Json = {}) => ({ 'x-jetstream': { stream, ...extra } })

export const asyncApiDocument = (version: string): Json => {
  for (const { name, schema, payload } of PAYLOAD_EXAMPLES) {
    const result = v.safeParse(schema, payload)
    if (!result.success)
      throw new Error(`the ${name} example does not pass its schema: ${result.issues[0].message}`)
  }

  const schemas: Json = {}
  const messages: Json = {}
  const channels: Json = {}
  const operations: Json = {}

  for (const type of EVENT_TYPES) {
    const example = EXAMPLE_EVENTS[type]
    schemas[type] = { title: type, ...schemaOf(EVENT_SCHEMAS[type]) }
    messages[type] = {
      name: type,
      title: `${type} event`,
      contentType: 'application/json',
      correlationId: { location: '$message.payload#/event_id' },
      headers: eventHeaders(type),
      payload: ref(`components/schemas/${type}`),
      examples: [
        {
          name: type,
          headers: {
            [NATS_MSG_ID_HEADER]: example.event_id,
            [EVENT_TYPE_HEADER]: type,
            'Content-Type': 'application/json',
            [TRACEPARENT_HEADER]: TRACEPARENT,
          },
          payload: example,
        },
      ],
    }
    channels[type] = {
      address: subjectFor(type),
      title: subjectFor(type),
      description: `Every ${type} event, stored in the ${STREAM_NAME} stream (JetStream) and published only by the bridge after validating it.`,
      messages: { [type]: ref(`components/messages/${type}`) },
      ...jetStream(STREAM_NAME, { duplicate_header: NATS_MSG_ID_HEADER }),
    }
    operations[`send.${type}`] = {
      action: 'send',
      title: `Publish ${type}`,
      summary: `The Library publishes ${type} into ${STREAM_NAME}; consumers read it with a durable JetStream consumer (or a core subscription).`,
      channel: ref(`channels/${type}`),
      messages: [ref(`channels/${type}/messages/${type}`)],
    }
  }

  schemas.LibraryEvent = {
    title: 'LibraryEvent',
    oneOf: EVENT_TYPES.map((type) => ref(`components/schemas/${type}`)),
  }
  schemas.SwapCommand = { title: 'SwapCommand', ...schemaOf(SwapCommand) }
  schemas.SwapResponse = { title: 'SwapResponse', ...schemaOf(SwapResponse) }
  schemas.SwapValidateRequest = { title: 'SwapValidateRequest', ...schemaOf(SwapValidateRequest) }
  schemas.SwapValidationReply = { title: 'SwapValidationReply', ...schemaOf(SwapValidationReply) }

  const jsonMessage = (
    name: string,
    title: string,
    payload: unknown,
    summary: string,
    headers: Json = traceHeaders,
  ): Json => ({
    name,
    title,
    summary,
    contentType: 'application/json',
    headers,
    payload: ref(`components/schemas/${name}`),
    examples: [
      {
        name,
        ...(headers === traceHeaders ? { headers: { [TRACEPARENT_HEADER]: TRACEPARENT } } : {}),
        payload,
      },
    ],
  })
  messages.SwapCommand = jsonMessage(
    'SwapCommand',
    'Swap command',
    SWAP_COMMAND_EXAMPLE,
    'The SwapRequest of the original spec plus our swap_id and the action asked for.',
  )
  messages.SwapResponse = jsonMessage(
    'SwapResponse',
    'Swap response',
    SWAP_RESPONSE_EXAMPLE,
    'The executor’s answer. Extra fields are kept. An executor may instead answer with the Nats-Service-Error and Nats-Service-Error-Code headers (NATS services).',
    replyHeaders,
  )
  messages.SwapValidateRequest = jsonMessage(
    'SwapValidateRequest',
    'Swap validation request',
    SWAP_COMMAND_EXAMPLE,
    'A SwapRequest; executors usually send the SwapCommand they are about to execute.',
  )
  messages.SwapValidationReply = jsonMessage(
    'SwapValidationReply',
    'Swap validation reply',
    SWAP_VALIDATION_REPLY_EXAMPLE,
    'Whether the Library accepts the swap, and why.',
    replyHeaders,
  )
  messages.DeadLetter = {
    name: 'DeadLetter',
    title: 'Dead-lettered event',
    summary:
      'The event a webhook subscription could not deliver, unchanged, with why and how often it failed.',
    contentType: 'application/json',
    headers: deadLetterHeaders,
    payload: ref('components/schemas/LibraryEvent'),
    examples: [
      {
        name: 'DeadLetter',
        headers: {
          [NATS_MSG_ID_HEADER]: `dlq:risk-desk:${STREAM_NAME}:42`,
          [ORIGINAL_SUBJECT]: subjectFor('swap.failed'),
          [ORIGINAL_STREAM]: STREAM_NAME,
          [ORIGINAL_SEQ]: '42',
          [LAST_ERROR]: 'HTTP 503 from https://hooks.example.com/library',
          [ATTEMPTS]: '8',
          [DEAD_AT]: AT,
        },
        payload: EXAMPLE_EVENTS['swap.failed'],
      },
    ],
  }

  channels['swap.command'] = {
    address: SWAP_COMMAND_SUBJECT,
    title: SWAP_COMMAND_SUBJECT,
    description:
      'Request/reply (core NATS, not stored): execute or roll back a swap. Answered by swap executors in one queue group.',
    messages: { SwapCommand: ref('components/messages/SwapCommand') },
  }
  channels['swap.command.reply'] = {
    address: null,
    title: 'reply inbox of library.swap.command',
    description: 'The requester’s _INBOX subject, carried as the NATS reply subject of the request.',
    messages: { SwapResponse: ref('components/messages/SwapResponse') },
  }
  channels['swap.validate'] = {
    address: SWAP_VALIDATE_SUBJECT,
    title: SWAP_VALIDATE_SUBJECT,
    description:
      'Request/reply (core NATS, not stored): may this swap go ahead? Answered by the Library (a bridge forward route to the functions).',
    messages: { SwapValidateRequest: ref('components/messages/SwapValidateRequest') },
  }
  channels['swap.validate.reply'] = {
    address: null,
    title: 'reply inbox of library.swap.validate',
    description: 'The requester’s _INBOX subject, carried as the NATS reply subject of the request.',
    messages: { SwapValidationReply: ref('components/messages/SwapValidationReply') },
  }
  const dlq = deadLetterSubject('{subscription}')
  channels['dead-letters'] = {
    address: dlq,
    title: dlq,
    description:
      `Events a webhook subscription gave up on after its max deliveries, one subject per subscription, stored in the ${DEAD_LETTER_STREAM} stream. ` +
      `Reserved: no bridge token reaches it; subscribers count and replay them with GET and POST /v1/subscriptions/{name}/…, ` +
      `and a replay moves them to ${replaySubject('{subscription}')} (stream ${REPLAY_STREAM}) for redelivery.`,
    parameters: {
      subscription: { description: 'The webhook subscription’s name.' },
    },
    messages: { DeadLetter: ref('components/messages/DeadLetter') },
    ...jetStream(DEAD_LETTER_STREAM),
  }

  operations['request.swap.command'] = {
    action: 'send',
    title: 'Execute a swap',
    summary:
      'The Library (POST /api/v1/swaps, through the bridge relay) asks an executor to execute or roll back a swap.',
    channel: ref('channels/swap.command'),
    messages: [ref('channels/swap.command/messages/SwapCommand')],
    reply: {
      channel: ref('channels/swap.command.reply'),
      messages: [ref('channels/swap.command.reply/messages/SwapResponse')],
    },
  }
  operations['reply.swap.validate'] = {
    action: 'receive',
    title: 'Validate a swap',
    summary: 'Executors ask the Library whether a swap may go ahead; the Library replies.',
    channel: ref('channels/swap.validate'),
    messages: [ref('channels/swap.validate/messages/SwapValidateRequest')],
    reply: {
      channel: ref('channels/swap.validate.reply'),
      messages: [ref('channels/swap.validate.reply/messages/SwapValidationReply')],
    },
  }
  operations['send.dead-letter'] = {
    action: 'send',
    title: 'Dead-letter an undeliverable event',
    summary: 'The bridge stores an event a webhook subscription could not deliver.',
    channel: ref('channels/dead-letters'),
    messages: [ref('channels/dead-letters/messages/DeadLetter')],
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Library events on NATS',
      version,
      description:
        `What the Library publishes and answers on NATS. Events: JSON on \`library.<event_type>\`, stored in the JetStream stream ${STREAM_NAME} ` +
        `(which lists its ${STREAM_SUBJECTS.length} subjects one by one, so request subjects never get a PubAck), with \`${NATS_MSG_ID_HEADER}\` = event_id. ` +
        `Swaps: request/reply on ${SWAP_COMMAND_SUBJECT} and ${SWAP_VALIDATE_SUBJECT}. The same payloads as JSON Schema: schemas/*.json.`,
    },
    servers: {
      local: {
        host: '127.0.0.1:4222',
        protocol: 'nats',
        description:
          'The nats-server of the local stack (npm start); elsewhere, the NATS_URL the bridge uses.',
      },
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  }
}
