import * as v from 'valibot'
import { RELAY_TIMEOUT_HEADER, RELAY_TIMEOUT_QUERY } from '../../shared/bridge-contract'
import { describeRoute, type RouteDoc } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { token, unauthorized } from '../openapi/doc-parts'

const relay: RouteDoc = {
  ...token,
  tag: 'request',
  summary: 'NATS request/reply: the body goes to the subject, the reply comes back',
  params: { subject: { description: 'A NATS subject without wildcards' } },
  headers: {
    [RELAY_TIMEOUT_HEADER]: {
      description: `Reply timeout in ms, capped by the bridge configuration (the ${RELAY_TIMEOUT_QUERY} query parameter wins)`,
    },
  },
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
}

/** Any body, of any media type: it goes to the responder as it came (only JSON nesting is checked). */
export const requestDoc = describeRoute(relay, { body: v.unknown() })
