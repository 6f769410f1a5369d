import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { describeRoute } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { DEPLOYMENT_ID, invalid, TRACE_CONTEXT_HEADERS } from '../openapi/doc-parts'

const WebhookAccepted = v.looseObject({
  status: v.literal('accepted'),
  source: v.string(),
  webhook_id: v.string(),
  type: v.string(),
  events: v.array(v.object({ event_id: Uuid, event_type: v.string() })),
  /** Health reports: whether the component's state took the report (an older one does not). */
  health: v.optional(
    v.object({ component: v.string(), applied: v.boolean(), message: v.optional(v.string()) }),
  ),
})

export const webhookDoc = describeRoute({
  tag: 'webhooks',
  summary: 'Inbound webhook, verified per Standard Webhooks and mapped to library events',
  description:
    'Signed with the source secret: headers webhook-id, webhook-timestamp and webhook-signature. ' +
    'A repeated webhook-id answers the first response again with `webhook-replayed: true`.',
  params: { source: { description: 'A configured webhook source' } },
  headers: {
    'webhook-id': { description: 'Unique delivery id', required: true },
    'webhook-timestamp': { description: 'Unix seconds, within the tolerance', required: true },
    'webhook-signature': { description: 'v1,<base64 HMAC-SHA256>', required: true },
    ...TRACE_CONTEXT_HEADERS,
  },
  examples: [
    {
      summary: 'A deployment reported healthy',
      path: '/webhooks/ci',
      body: {
        type: 'deployment.succeeded',
        timestamp: '2025-01-15T10:30:00Z',
        data: { deployment_id: DEPLOYMENT_ID },
      },
    },
  ],
  responses: {
    200: { description: 'Accepted (or replayed)', schema: WebhookAccepted },
    400: invalid,
    401: errorResponse('Bad signature or timestamp'),
    404: errorResponse('Unknown source'),
    413: errorResponse('Body too large'),
  },
})
