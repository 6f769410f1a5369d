import { Hono } from 'hono'
import * as v from 'valibot'
import { EntityType, JsonObject, Name, SemVer } from '../../shared/domain'
import { getEntity, listEntities } from '../db/entities'
import { ENTITY_STATUSES, SETTABLE_ENTITY_STATUSES } from '../domain/entity-state'
import type { HonoEnv } from '../env'
import { CursorParam, encodeCursor, LimitParam } from '../lib/request-input'
import { idParam, jsonBody, optionalJsonBody, queryInput } from '../lib/validate'
import { actionContext } from '../services/context'
import {
  changeEntity,
  deleteEntity,
  entityNotFound,
  entityView,
  registerEntity,
  runValidation,
} from '../services/entities'
import { entityDocs } from './entities.doc'

const Description = v.pipe(v.string(), v.maxLength(2_000))

export const CreateEntityBody = v.strictObject({
  name: Name,
  type: EntityType,
  version: SemVer,
  description: v.optional(Description, ''),
  config: v.optional(JsonObject, {}),
  metadata: v.optional(JsonObject, {}),
})

export const UpdateEntityBody = v.pipe(
  v.strictObject({
    description: v.optional(Description),
    config: v.optional(JsonObject),
    metadata: v.optional(JsonObject),
    status: v.optional(v.picklist(SETTABLE_ENTITY_STATUSES)),
  }),
  v.check((patch) => Object.keys(patch).length > 0, 'at least one of description, config, metadata, status'),
)

export const DeleteEntityBody = v.strictObject({ reason: v.optional(v.pipe(v.string(), v.maxLength(2_000))) })

export const ListEntitiesQuery = v.strictObject({
  type: v.optional(EntityType),
  status: v.optional(v.picklist(ENTITY_STATUSES)),
  name_prefix: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  cursor: CursorParam,
  limit: LimitParam(50, 100),
})

export const ValidateEntityBody = v.strictObject({})

export const entityRoutes = new Hono<HonoEnv>()
  .post('/', entityDocs.register, jsonBody(CreateEntityBody), async (c) => {
    const body = c.req.valid('json')
    const { value } = await registerEntity(c.var.db, body, actionContext(c))
    return c.json(entityView(value), 201, { location: `/api/v1/entities/${value.id}` })
  })
  .get('/', entityDocs.list, queryInput(ListEntitiesQuery), async (c) => {
    const query = c.req.valid('query')
    const { rows, nextSeq } = await listEntities(c.var.db, {
      type: query.type,
      status: query.status,
      namePrefix: query.name_prefix,
      afterSeq: query.cursor,
      limit: query.limit,
    })
    return c.json({
      items: rows.map(entityView),
      next_cursor: nextSeq === null ? null : encodeCursor(nextSeq),
    })
  })
  .get('/:id', entityDocs.get, idParam, async (c) => {
    const { id } = c.req.valid('param')
    const entity = await getEntity(c.var.db, id)
    if (!entity) throw entityNotFound(id)
    return c.json(entityView(entity))
  })
  .patch('/:id', entityDocs.update, idParam, jsonBody(UpdateEntityBody), async (c) => {
    const { id } = c.req.valid('param')
    const patch = c.req.valid('json')
    const { value } = await changeEntity(c.var.db, id, patch, actionContext(c))
    return c.json(entityView(value))
  })
  .delete('/:id', entityDocs.delete, idParam, optionalJsonBody(DeleteEntityBody), async (c) => {
    const { id } = c.req.valid('param')
    const { reason } = c.req.valid('json')
    const { value } = await deleteEntity(c.var.db, id, reason, actionContext(c))
    return c.json(entityView(value))
  })
  .post('/:id/validate', entityDocs.validate, idParam, optionalJsonBody(ValidateEntityBody), async (c) => {
    const { id } = c.req.valid('param')
    const { value } = await runValidation(c.var.db, id, actionContext(c))
    return c.json({
      entity_id: id,
      valid: value.valid,
      results: value.results,
      entity: entityView(value.entity),
    })
  })
