import { describeRoutes } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { SwapResponse } from '../../shared/swap'
import {
  api,
  conflict,
  ENTITY_ID,
  idOf,
  invalid,
  notFound,
  OTHER_ENTITY_ID,
  page,
  SWAP_ID,
  TRACE_CONTEXT_HEADERS,
  traced,
} from '../openapi/doc-parts'
import { SwapView } from '../services/swaps'

const swap = { ...api, tag: 'swaps', params: idOf('swap') } as const

export const swapDocs = describeRoutes({
  request: {
    ...api,
    tag: 'swaps',
    summary: 'Swap one entity for another through the executor (library.swap.command)',
    description:
      'Relayed over the bridge as a NATS request; emits swap.initiated then swap.validated/completed/failed. ' +
      'A repeated Idempotency-Key returns the stored answer with `idempotent-replayed: true`.',
    headers: {
      'Idempotency-Key': { description: '1-255 visible ASCII characters' },
      ...TRACE_CONTEXT_HEADERS,
    },
    examples: [
      {
        summary: 'Swap strategies',
        body: {
          from_entity_id: ENTITY_ID,
          to_entity_id: OTHER_ENTITY_ID,
          reason: 'better sharpe',
          initiated_by: 'alice',
        },
      },
    ],
    responses: {
      200: { description: 'The executor answered', schema: SwapResponse },
      400: invalid,
      404: notFound('entity'),
      409: conflict('Idempotency-Key in use with another request, or still in progress'),
      502: errorResponse('The executor answered with something unusable'),
      503: errorResponse('No executor is listening'),
      504: errorResponse('The executor did not answer in time'),
    },
  },
  list: {
    ...api,
    tag: 'swaps',
    summary: 'List swaps',
    examples: [{ summary: 'Completed swaps', query: { status: 'completed' } }],
    responses: { 200: { description: 'A page', schema: page(SwapView) }, 400: invalid },
  },
  get: {
    ...swap,
    summary: 'Get a swap',
    examples: [{ summary: 'By id', path: `/api/v1/swaps/${SWAP_ID}` }],
    responses: { 200: { description: 'The swap', schema: SwapView }, 404: notFound('swap') },
  },
  rollback: {
    ...swap,
    ...traced,
    summary: 'Roll a completed swap back (emits swap.rolled_back)',
    examples: [
      { summary: 'With a reason', path: `/api/v1/swaps/${SWAP_ID}/rollback`, body: { reason: 'regression' } },
    ],
    responses: {
      200: { description: 'The executor answered', schema: SwapResponse },
      404: notFound('swap'),
      409: conflict('The swap cannot be rolled back'),
    },
  },
})
