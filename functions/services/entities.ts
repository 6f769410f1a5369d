import * as v from 'valibot'
import { EntityType, IsoTimestamp, JsonObject, SemVer, Uuid } from '../../shared/domain'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { HttpError } from '../../shared/http-error'
import {
  type EntityPatch,
  type EntityRow,
  getEntity,
  insertEntity,
  type NewEntity,
  recordValidation,
  softDeleteEntity,
  updateEntity,
} from '../db/entities'
import type { Written } from '../db/outbox'
import type { Queryable } from '../db/sql'
import { ENTITY_STATUSES } from '../domain/entity-state'
import { type RuleResult, validateEntity } from '../domain/validation-rules'
import { type ActionContext, eventMetadata } from './context'
import { untilApplied } from './optimistic'

export interface Changed<T> {
  value: T
  /** Recorded in the outbox with the change; delivered after the request by itself (outbox/dispatch.ts). */
  events: LibraryEvent[]
}

export const entityNotFound = (id: string) =>
  new HttpError(404, 'entity_not_found', `No entity with id ${id}`, { entity_id: id })

export const entityDeleted = (id: string) =>
  new HttpError(409, 'entity_deleted', `Entity ${id} is deleted`, { entity_id: id, status: 'deleted' })

/** Reads an entity about to change; deleted entities are refused. */
export const liveEntity = async (db: Queryable, id: string) => {
  const entity = await getEntity(db, id)
  if (!entity) throw entityNotFound(id)
  if (entity.status === 'deleted') throw entityDeleted(id)
  return entity
}

/** The changed row, or undefined when a concurrent change moved the row on since it was read. */
const applied = <T>(written: Written<EntityRow>, events: LibraryEvent[], value: (row: EntityRow) => T) => {
  const row = written.rows[0]
  return row ? { value: value(row), events } : undefined
}

export type RegisterInput = Omit<NewEntity, 'id' | 'created_by'>

export const registerEntity = async (
  db: Queryable,
  input: RegisterInput,
  ctx: ActionContext,
): Promise<Changed<EntityRow>> => {
  const entity = { id: crypto.randomUUID(), ...input, created_by: ctx.actor }
  const event = createEvent({
    event_type: 'entity.registered',
    entity_id: entity.id,
    entity_name: entity.name,
    entity_type: entity.type,
    version: entity.version,
    data: { description: entity.description, status: 'active', config: entity.config },
    metadata: eventMetadata(ctx),
  })
  const written = await insertEntity(db, entity, [event])
  return { value: written.rows[0]!, events: [event] }
}

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )

/** Applies the fields that differ from the stored entity; no change, no event. */
export const changeEntity = (db: Queryable, id: string, patch: EntityPatch, ctx: ActionContext) =>
  untilApplied(
    async (): Promise<Changed<EntityRow> | undefined> => {
      const current = await liveEntity(db, id)
      const changes: Record<string, { from: unknown; to: unknown }> = {}
      const effective: EntityPatch = {}
      for (const field of ['description', 'config', 'metadata', 'status'] as const) {
        const next = patch[field]
        if (next === undefined || canonical(next) === canonical(current[field])) continue
        changes[field] = { from: current[field], to: next }
        Object.assign(effective, { [field]: next })
      }
      if (Object.keys(changes).length === 0) return { value: current, events: [] }
      const event = createEvent({
        event_type: 'entity.updated',
        entity_id: id,
        data: { changes, version: current.version },
        metadata: eventMetadata(ctx),
      })
      return applied(await updateEntity(db, current, effective, [event]), [event], (row) => row)
    },
    { entity_id: id },
  )

export const deleteEntity = (db: Queryable, id: string, reason: string | undefined, ctx: ActionContext) =>
  untilApplied(
    async (): Promise<Changed<EntityRow> | undefined> => {
      const current = await liveEntity(db, id)
      const event = createEvent({
        event_type: 'entity.deleted',
        entity_id: id,
        data: { entity_name: current.name, version: current.version, ...(reason ? { reason } : {}) },
        metadata: eventMetadata(ctx),
      })
      return applied(await softDeleteEntity(db, current, [event]), [event], (row) => row)
    },
    { entity_id: id },
  )

export const runValidation = (db: Queryable, id: string, ctx: ActionContext) =>
  untilApplied(
    async (): Promise<Changed<{ entity: EntityRow; valid: boolean; results: RuleResult[] }> | undefined> => {
      const current = await liveEntity(db, id)
      const { valid, results } = validateEntity(current)
      const event = createEvent({
        event_type: 'entity.validated',
        entity_id: id,
        data: { valid, results },
        metadata: eventMetadata(ctx),
      })
      const written = await recordValidation(db, current, valid, results, [event])
      return applied(written, [event], (entity) => ({ entity, valid, results }))
    },
    { entity_id: id },
  )

/** An entity as the API answers it (`entityView`), for the OpenAPI document. */
export const EntityView = v.object({
  id: Uuid,
  name: v.string(),
  type: EntityType,
  version: SemVer,
  description: v.string(),
  config: JsonObject,
  metadata: JsonObject,
  status: v.picklist(ENTITY_STATUSES),
  validation: v.object({
    status: v.string(),
    results: v.unknown(),
    validated_at: v.nullable(IsoTimestamp),
  }),
  created_by: v.string(),
  created_at: IsoTimestamp,
  updated_at: IsoTimestamp,
  deleted_at: v.nullable(IsoTimestamp),
})

export const entityView = (e: EntityRow) => ({
  id: e.id,
  name: e.name,
  type: e.type,
  version: e.version,
  description: e.description,
  config: e.config,
  metadata: e.metadata,
  status: e.status,
  validation: { status: e.validation_status, results: e.validation_results, validated_at: e.validated_at },
  created_by: e.created_by,
  created_at: e.created_at,
  updated_at: e.updated_at,
  deleted_at: e.deleted_at,
})
