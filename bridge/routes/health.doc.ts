import * as v from 'valibot'
import { describeRoutes } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'

export const healthDocs = describeRoutes({
  live: {
    tag: 'health',
    summary: 'Liveness; 503 only when the NATS client gave up for good',
    responses: {
      200: { description: 'Alive', schema: v.object({ status: v.literal('ok'), uptime_s: v.number() }) },
    },
  },
  ready: {
    tag: 'health',
    summary: 'Readiness: NATS connected, the stream ensured and the subscription registry bound',
    responses: {
      200: { description: 'Ready', schema: v.object({ status: v.literal('ready') }) },
      503: errorResponse('Not ready; details.reason says why'),
    },
  },
  detailed: {
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
  metrics: {
    tag: 'health',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Text exposition format', contentType: 'text/plain' } },
  },
})
