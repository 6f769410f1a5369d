import type { Pool } from '@neondatabase/serverless'
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
import { insertEvents } from '../db/outbox'
import { withTransaction } from '../db/pool'
import { type RuleResult, validateEntity } from '../domain/validation-rules'
import { type ActionContext, eventMetadata } from './context'

export interface Changed<T> {
  value: T
  events: LibraryEvent[]
}

export const entityNotFound = (id: string) =>
  new HttpError(404, 'entity_not_found', `No entity with id ${id}`, { entity_id: id })

export const entityDeleted = (id: string) =>
  new HttpError(409, 'entity_deleted', `Entity ${id} is deleted`, { entity_id: id, status: 'deleted' })

/** Loads an entity for update inside a transaction; deleted entities are refused unless allowed. */
const lockEntity = async (tx: Parameters<typeof getEntity>[0], id: string) => {
  const entity = await getEntity(tx, id, { forUpdate: true })
  if (!entity) throw entityNotFound(id)
  if (entity.status === 'deleted') throw entityDeleted(id)
  return entity
}

export type RegisterInput = Omit<NewEntity, 'id' | 'created_by'>

export const registerEntity = (pool: Pool, input: RegisterInput, ctx: ActionContext) =>
  withTransaction(pool, async (tx): Promise<Changed<EntityRow>> => {
    const entity = await insertEntity(tx, { id: crypto.randomUUID(), ...input, created_by: ctx.actor })
    const event = createEvent({
      event_type: 'entity.registered',
      entity_id: entity.id,
      entity_name: entity.name,
      entity_type: entity.type,
      version: entity.version,
      data: { description: entity.description, status: entity.status, config: entity.config },
      metadata: eventMetadata(ctx),
    })
    await insertEvents(tx, [event])
    return { value: entity, events: [event] }
  })

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )

/** Applies the fields that differ from the stored entity; no change, no event. */
export const changeEntity = (pool: Pool, id: string, patch: EntityPatch, ctx: ActionContext) =>
  withTransaction(pool, async (tx): Promise<Changed<EntityRow>> => {
    const current = await lockEntity(tx, id)
    const changes: Record<string, { from: unknown; to: unknown }> = {}
    const effective: EntityPatch = {}
    for (const field of ['description', 'config', 'metadata', 'status'] as const) {
      const next = patch[field]
      if (next === undefined || canonical(next) === canonical(current[field])) continue
      changes[field] = { from: current[field], to: next }
      Object.assign(effective, { [field]: next })
    }
    if (Object.keys(changes).length === 0) return { value: current, events: [] }
    const entity = await updateEntity(tx, id, effective)
    const event = createEvent({
      event_type: 'entity.updated',
      entity_id: id,
      data: { changes, version: entity.version },
      metadata: eventMetadata(ctx),
    })
    await insertEvents(tx, [event])
    return { value: entity, events: [event] }
  })

export const deleteEntity = (pool: Pool, id: string, reason: string | undefined, ctx: ActionContext) =>
  withTransaction(pool, async (tx): Promise<Changed<EntityRow>> => {
    await lockEntity(tx, id)
    const entity = await softDeleteEntity(tx, id)
    const event = createEvent({
      event_type: 'entity.deleted',
      entity_id: id,
      data: { entity_name: entity.name, version: entity.version, ...(reason ? { reason } : {}) },
      metadata: eventMetadata(ctx),
    })
    await insertEvents(tx, [event])
    return { value: entity, events: [event] }
  })

export const runValidation = (pool: Pool, id: string, ctx: ActionContext) =>
  withTransaction(
    pool,
    async (tx): Promise<Changed<{ entity: EntityRow; valid: boolean; results: RuleResult[] }>> => {
      const current = await lockEntity(tx, id)
      const { valid, results } = validateEntity(current)
      const entity = await recordValidation(tx, id, valid, results)
      const event = createEvent({
        event_type: 'entity.validated',
        entity_id: id,
        data: { valid, results },
        metadata: eventMetadata(ctx),
      })
      await insertEvents(tx, [event])
      return { value: { entity, valid, results }, events: [event] }
    },
  )

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
