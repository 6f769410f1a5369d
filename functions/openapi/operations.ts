import * as v from 'valibot'
import { LibraryEvent } from '../../shared/events'
import { errorResponse, type OperationSpec } from '../../shared/openapi/document'
import { SwapResponse, SwapValidationReply } from '../../shared/swap'
import type { CreateEntityBody } from '../routes/entities'
import { SwapValidateBody } from '../routes/internal-swap'
import { WebhookPayload } from '../webhooks/mappings'
import {
  DeploymentView,
  EntityView,
  Health,
  HealthDetailed,
  page,
  SwapView,
  ValidationView,
  WebhookAccepted,
} from './schemas'

const ENTITY_ID = '6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f'
const OTHER_ENTITY_ID = '0b7d4c1e-2f3a-4b5c-8d9e-1f2a3b4c5d6e'
const DEPLOYMENT_ID = '3c9e7a52-1d4b-4f6e-a8c0-5b2d9e1f7a34'
const SWAP_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'

const id = (what: string) => ({ id: { description: `The ${what}'s id (UUID)` } })
const invalid = errorResponse('Invalid input, with per-field issues in details')
const unauthorized = errorResponse('Missing or unknown API key')
const forbidden = errorResponse('The API key lacks the scope')
const notFound = (what: string) => errorResponse(`No such ${what}`)
const conflict = (why: string) => errorResponse(why)
const api = { security: 'apiKey' } as const

export const ENTITY_EXAMPLE = {
  name: 'momentum-breakout',
  type: 'strategy',
  version: '1.0.0',
  description: 'Buys 20-day highs',
  config: { symbols: ['AAPL', 'MSFT'], max_position: 100 },
} satisfies v.InferInput<typeof CreateEntityBody>

const entities: OperationSpec[] = [
  {
    ...api,
    method: 'post',
    path: '/api/v1/entities',
    tag: 'entities',
    summary: 'Register an entity (emits entity.registered)',
    examples: [{ summary: 'A strategy', body: ENTITY_EXAMPLE }],
    responses: {
      201: { description: 'Created; Location names the entity', schema: EntityView },
      400: invalid,
      401: unauthorized,
      403: forbidden,
      409: conflict('An entity with this (name, version) exists'),
    },
  },
  {
    ...api,
    method: 'get',
    path: '/api/v1/entities',
    tag: 'entities',
    summary: 'List entities, newest last, with cursor pagination',
    examples: [{ summary: 'Active strategies', query: { type: 'strategy', status: 'active', limit: '20' } }],
    responses: { 200: { description: 'A page', schema: page(EntityView) }, 400: invalid, 401: unauthorized },
  },
  {
    ...api,
    method: 'get',
    path: '/api/v1/entities/:id',
    tag: 'entities',
    summary: 'Get an entity',
    params: id('entity'),
    examples: [{ summary: 'By id', path: `/api/v1/entities/${ENTITY_ID}` }],
    responses: { 200: { description: 'The entity', schema: EntityView }, 404: notFound('entity') },
  },
  {
    ...api,
    method: 'patch',
    path: '/api/v1/entities/:id',
    tag: 'entities',
    summary: 'Update description, config, metadata or status (emits entity.updated)',
    params: id('entity'),
    examples: [
      { summary: 'Deprecate', path: `/api/v1/entities/${ENTITY_ID}`, body: { status: 'deprecated' } },
    ],
    responses: {
      200: { description: 'The updated entity', schema: EntityView },
      400: invalid,
      404: notFound('entity'),
      409: conflict('The entity is deleted'),
    },
  },
  {
    ...api,
    method: 'delete',
    path: '/api/v1/entities/:id',
    tag: 'entities',
    summary: 'Delete an entity, softly (emits entity.deleted)',
    params: id('entity'),
    examples: [
      { summary: 'With a reason', path: `/api/v1/entities/${ENTITY_ID}`, body: { reason: 'superseded' } },
    ],
    responses: { 200: { description: 'The deleted entity', schema: EntityView }, 404: notFound('entity') },
  },
  {
    ...api,
    method: 'post',
    path: '/api/v1/entities/:id/validate',
    tag: 'entities',
    summary: 'Run the validation rules (emits entity.validated)',
    params: id('entity'),
    examples: [{ summary: 'No body needed', path: `/api/v1/entities/${ENTITY_ID}/validate`, body: {} }],
    responses: { 200: { description: 'Rule results', schema: ValidationView }, 404: notFound('entity') },
  },
]

const transition = (
  action: 'complete' | 'fail' | 'rollback',
  summary: string,
  example: unknown,
): OperationSpec => ({
  ...api,
  method: 'post',
  path: `/api/v1/deployments/:id/${action}`,
  tag: 'deployments',
  summary,
  params: id('deployment'),
  examples: [{ summary, path: `/api/v1/deployments/${DEPLOYMENT_ID}/${action}`, body: example }],
  responses: {
    200: { description: 'The deployment', schema: DeploymentView },
    400: invalid,
    404: notFound('deployment'),
    409: conflict('The deployment is not in a state that allows this'),
  },
})

const deployments: OperationSpec[] = [
  {
    ...api,
    method: 'post',
    path: '/api/v1/deployments',
    tag: 'deployments',
    summary: 'Start a deployment (emits deployment.started)',
    examples: [
      { summary: 'To paper trading', body: { entity_id: ENTITY_ID, environment: 'paper', version: '1.0.0' } },
    ],
    responses: {
      201: { description: 'Started', schema: DeploymentView },
      400: invalid,
      404: notFound('entity'),
      409: conflict('A deployment of this entity to this environment is in progress'),
    },
  },
  {
    ...api,
    method: 'get',
    path: '/api/v1/deployments',
    tag: 'deployments',
    summary: 'List deployments',
    examples: [{ summary: 'Of one entity', query: { entity_id: ENTITY_ID } }],
    responses: { 200: { description: 'A page', schema: page(DeploymentView) }, 400: invalid },
  },
  {
    ...api,
    method: 'get',
    path: '/api/v1/deployments/:id',
    tag: 'deployments',
    summary: 'Get a deployment',
    params: id('deployment'),
    examples: [{ summary: 'By id', path: `/api/v1/deployments/${DEPLOYMENT_ID}` }],
    responses: {
      200: { description: 'The deployment', schema: DeploymentView },
      404: notFound('deployment'),
    },
  },
  transition('complete', 'Complete a deployment (emits deployment.completed)', {}),
  transition('fail', 'Fail a deployment (emits deployment.failed)', {
    error: 'health check timed out',
  }),
  transition('rollback', 'Roll a deployment back (emits deployment.rolled_back)', {
    reason: 'drawdown over limit',
  }),
]

const swaps: OperationSpec[] = [
  {
    ...api,
    method: 'post',
    path: '/api/v1/swaps',
    tag: 'swaps',
    summary: 'Swap one entity for another through the executor (library.swap.command)',
    description:
      'Relayed over the bridge as a NATS request; emits swap.initiated then swap.validated/completed/failed. ' +
      'A repeated Idempotency-Key returns the stored answer with `idempotent-replayed: true`.',
    headers: { 'Idempotency-Key': { description: '1-255 visible ASCII characters' } },
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
  {
    ...api,
    method: 'get',
    path: '/api/v1/swaps',
    tag: 'swaps',
    summary: 'List swaps',
    examples: [{ summary: 'Completed swaps', query: { status: 'completed' } }],
    responses: { 200: { description: 'A page', schema: page(SwapView) }, 400: invalid },
  },
  {
    ...api,
    method: 'get',
    path: '/api/v1/swaps/:id',
    tag: 'swaps',
    summary: 'Get a swap',
    params: id('swap'),
    examples: [{ summary: 'By id', path: `/api/v1/swaps/${SWAP_ID}` }],
    responses: { 200: { description: 'The swap', schema: SwapView }, 404: notFound('swap') },
  },
  {
    ...api,
    method: 'post',
    path: '/api/v1/swaps/:id/rollback',
    tag: 'swaps',
    summary: 'Roll a completed swap back (emits swap.rolled_back)',
    params: id('swap'),
    examples: [
      { summary: 'With a reason', path: `/api/v1/swaps/${SWAP_ID}/rollback`, body: { reason: 'regression' } },
    ],
    responses: {
      200: { description: 'The executor answered', schema: SwapResponse },
      404: notFound('swap'),
      409: conflict('The swap cannot be rolled back'),
    },
  },
]

const others: OperationSpec[] = [
  {
    method: 'get',
    path: '/health',
    tag: 'health',
    summary: 'Liveness',
    responses: { 200: { description: 'Alive', schema: Health } },
  },
  {
    method: 'get',
    path: '/health/detailed',
    tag: 'health',
    summary: 'Database, bridge and NATS state, outbox backlog',
    responses: { 200: { description: 'Status per component', schema: HealthDetailed } },
  },
  {
    method: 'post',
    path: '/webhooks/:source',
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
    },
    body: WebhookPayload,
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
  },
  {
    security: 'forwardToken',
    method: 'post',
    path: '/internal/swap/validate',
    tag: 'internal',
    summary: 'Validation of a swap, reached from NATS library.swap.validate through a bridge forward route',
    body: SwapValidateBody,
    examples: [
      { summary: 'Two entities', body: { from_entity_id: ENTITY_ID, to_entity_id: OTHER_ENTITY_ID } },
    ],
    responses: { 200: { description: 'The verdict', schema: SwapValidationReply }, 401: unauthorized },
  },
  {
    security: 'forwardToken',
    method: 'post',
    path: '/internal/swap/events',
    tag: 'internal',
    summary:
      'Late swap outcome events from executors, through a bridge forward route or webhook subscription',
    description:
      'A webhook subscription on library.swap.* pointed here, signed with FORWARD_SIGNING_SECRET, is the durable ' +
      'path: the stream keeps the event until this endpoint has answered 2xx. Other event types are answered 202.',
    body: LibraryEvent,
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
]

export const FUNCTIONS_OPERATIONS: OperationSpec[] = [...entities, ...deployments, ...swaps, ...others]
