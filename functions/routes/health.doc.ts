import * as v from 'valibot'
import { describeRoutes } from '../../shared/openapi/describe-route'

export const healthDocs = describeRoutes({
  live: {
    tag: 'health',
    summary: 'Liveness',
    responses: { 200: { description: 'Alive', schema: v.object({ status: v.literal('ok') }) } },
  },
  detailed: {
    tag: 'health',
    summary: 'Database, bridge and NATS state, outbox backlog',
    responses: {
      200: { description: 'Status per component', schema: v.looseObject({ status: v.string() }) },
    },
  },
})
