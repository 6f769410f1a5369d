import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { describeRoutes } from '../../shared/openapi/describe-route'
import {
  api,
  conflict,
  ENTITY_ID,
  forbidden,
  idOf,
  invalid,
  notFound,
  page,
  traced,
  unauthorized,
} from '../openapi/doc-parts'
import { EntityView } from '../services/entities'
import type { CreateEntityBody } from './entities'

export const ENTITY_EXAMPLE = {
  name: 'momentum-breakout',
  type: 'strategy',
  version: '1.0.0',
  description: 'Buys 20-day highs',
  config: { symbols: ['AAPL', 'MSFT'], max_position: 100 },
} satisfies v.InferInput<typeof CreateEntityBody>

const ValidationView = v.object({
  entity_id: Uuid,
  valid: v.boolean(),
  results: v.array(v.object({ rule: v.string(), passed: v.boolean(), message: v.string() })),
  entity: EntityView,
})

const entity = { ...api, tag: 'entities', params: idOf('entity') } as const

export const entityDocs = describeRoutes({
  register: {
    ...api,
    ...traced,
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
  list: {
    ...api,
    tag: 'entities',
    summary: 'List entities, newest last, with cursor pagination',
    examples: [{ summary: 'Active strategies', query: { type: 'strategy', status: 'active', limit: '20' } }],
    responses: { 200: { description: 'A page', schema: page(EntityView) }, 400: invalid, 401: unauthorized },
  },
  get: {
    ...entity,
    summary: 'Get an entity',
    examples: [{ summary: 'By id', path: `/api/v1/entities/${ENTITY_ID}` }],
    responses: { 200: { description: 'The entity', schema: EntityView }, 404: notFound('entity') },
  },
  update: {
    ...entity,
    ...traced,
    summary: 'Update description, config, metadata or status (emits entity.updated)',
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
  delete: {
    ...entity,
    ...traced,
    summary: 'Delete an entity, softly (emits entity.deleted)',
    examples: [
      { summary: 'With a reason', path: `/api/v1/entities/${ENTITY_ID}`, body: { reason: 'superseded' } },
    ],
    responses: { 200: { description: 'The deleted entity', schema: EntityView }, 404: notFound('entity') },
  },
  validate: {
    ...entity,
    ...traced,
    summary: 'Run the validation rules (emits entity.validated)',
    examples: [{ summary: 'No body needed', path: `/api/v1/entities/${ENTITY_ID}/validate`, body: {} }],
    responses: { 200: { description: 'Rule results', schema: ValidationView }, 404: notFound('entity') },
  },
})
