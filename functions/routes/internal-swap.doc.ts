import * as v from 'valibot'
import { describeRoutes } from '../../shared/openapi/describe-route'
import { SwapValidationReply } from '../../shared/swap'
import { ENTITY_ID, forwarded, invalid, OTHER_ENTITY_ID, SWAP_ID, unauthorized } from '../openapi/doc-parts'

export const internalSwapDocs = describeRoutes({
  validate: {
    ...forwarded,
    tag: 'internal',
    summary: 'Validation of a swap, reached from NATS library.swap.validate through a bridge forward route',
    examples: [
      { summary: 'Two entities', body: { from_entity_id: ENTITY_ID, to_entity_id: OTHER_ENTITY_ID } },
    ],
    responses: { 200: { description: 'The verdict', schema: SwapValidationReply }, 401: unauthorized },
  },
  events: {
    ...forwarded,
    tag: 'internal',
    summary:
      'Late swap outcome events from executors, through a bridge forward route or webhook subscription',
    description:
      'A webhook subscription on library.swap.* pointed here, signed with FORWARD_SIGNING_SECRET, is the durable ' +
      'path: the stream keeps the event until this endpoint has answered 2xx. Other event types are answered 202.',
    examples: [
      {
        summary: 'A swap completed',
        body: {
          event_id: '1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a',
          event_type: 'swap.completed',
          timestamp: '2025-01-15T10:30:00Z',
          source: 'swap-executor',
          swap_id: SWAP_ID,
          entity_id: null,
          deployment_id: null,
          data: { from_entity_id: ENTITY_ID, to_entity_id: OTHER_ENTITY_ID },
        },
      },
    ],
    responses: {
      200: { description: 'Reconciled', schema: v.looseObject({}) },
      202: { description: 'Not about a known swap: ignored', schema: v.looseObject({}) },
      400: invalid,
      401: unauthorized,
    },
  },
})
