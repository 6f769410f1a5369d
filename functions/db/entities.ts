import type { EntityType } from '../../shared/domain'
import type { LibraryEvent } from '../../shared/events'
import type { EntityStatus } from '../domain/entity-state'
import { DomainFailure } from '../domain/failure'
import type { RuleResult } from '../domain/validation-rules'
import { runWithOutbox, type Written } from './outbox'
import { toPage } from './page'
import { isUniqueViolation } from './pool'
import type { Queryable, Statement } from './sql'

export interface EntityRow {
  id: string
  seq: string
  name: string
  type: EntityType
  version: string
  description: string
  config: Record<string, unknown>
  metadata: Record<string, unknown>
  status: EntityStatus
  validation_status: 'pending' | 'passed' | 'failed'
  validation_results: RuleResult[] | null
  validated_at: Date | null
  created_by: string
  created_at: Date
  updated_at: Date
  deleted_at: Date | null
  /** Bumped by every change: a change applies only if the row still has the version it read. */
  row_version: string
}

const COLUMNS = `id, seq::text as seq, name, type, version, description, config, metadata, status,
  validation_status, validation_results, validated_at, created_by, created_at, updated_at, deleted_at,
  row_version::text as row_version`

export type NewEntity = Pick<
  EntityRow,
  'id' | 'name' | 'type' | 'version' | 'description' | 'config' | 'metadata' | 'created_by'
>

export const entityExists = (name: string, version: string) =>
  new DomainFailure('entity_exists', `An entity named '${name}' with version ${version} already exists`, {
    name,
    version,
  })

/** Inserts the entity and its events in one statement. */
export const insertEntity = async (
  db: Queryable,
  entity: NewEntity,
  events: readonly LibraryEvent[],
): Promise<Written<EntityRow>> => {
  try {
    return await runWithOutbox<EntityRow>(db, {
      write: `insert into entities (id, name, type, version, description, config, metadata, created_by)
              values ($1, $2, $3, $4, $5, $6, $7, $8)
              returning ${COLUMNS}`,
      params: [
        entity.id,
        entity.name,
        entity.type,
        entity.version,
        entity.description,
        JSON.stringify(entity.config),
        JSON.stringify(entity.metadata),
        entity.created_by,
      ],
      events,
    })
  } catch (err) {
    if (isUniqueViolation(err, 'entities_name_version_key')) throw entityExists(entity.name, entity.version)
    throw err
  }
}

export const getEntity = async (db: Queryable, id: string): Promise<EntityRow | null> => {
  const { rows } = await db.query<EntityRow>(`select ${COLUMNS} from entities where id = $1`, [id])
  return rows[0] ?? null
}

/** The entities among `ids` that exist. */
export const entitiesQuery = (ids: readonly string[]): Statement => ({
  text: `select ${COLUMNS} from entities where id = any($1::uuid[])`,
  params: [[...ids]],
})

export const getEntities = async (db: Queryable, ids: readonly string[]): Promise<EntityRow[]> => {
  const q = entitiesQuery(ids)
  return (await db.query<EntityRow>(q.text, q.params)).rows
}

export interface EntityFilters {
  type?: EntityType
  status?: EntityStatus
  namePrefix?: string
  afterSeq?: string
  limit: number
}

/** Insertion order; deleted entities only when asked for with status=deleted. */
export const listEntities = async (
  db: Queryable,
  filters: EntityFilters,
): Promise<{ rows: EntityRow[]; nextSeq: string | null }> => {
  const { rows } = await db.query<EntityRow>(
    `select ${COLUMNS} from entities
      where ($1::text is null or type = $1)
        and (case when $2::text is null then status <> 'deleted' else status = $2 end)
        and ($3::text is null or starts_with(name, $3))
        and ($4::bigint is null or seq > $4::bigint)
      order by entities.seq
      limit $5`,
    [
      filters.type ?? null,
      filters.status ?? null,
      filters.namePrefix ?? null,
      filters.afterSeq ?? null,
      filters.limit + 1,
    ],
  )
  return toPage(rows, filters.limit)
}

export interface EntityPatch {
  description?: string
  config?: Record<string, unknown>
  metadata?: Record<string, unknown>
  status?: 'active' | 'deprecated'
}

/** The row as read: a change applies only while it still has this version. */
export type Expected = Pick<EntityRow, 'id' | 'row_version'>

/**
 * A change to an entity and its events in one statement, applied only if the row still has the
 * version the caller read; no rows means the race was lost (re-read and try again).
 */
const changeRow = (
  db: Queryable,
  expected: Expected,
  set: string,
  params: unknown[],
  events: readonly LibraryEvent[],
) =>
  runWithOutbox<EntityRow>(db, {
    write: `update entities set ${set}, updated_at = now(), row_version = row_version + 1
             where id = $1 and row_version = $2::bigint
             returning ${COLUMNS}`,
    params: [expected.id, expected.row_version, ...params],
    events,
  })

/** A config change makes an earlier validation stale, so it goes back to pending. */
export const updateEntity = (
  db: Queryable,
  expected: Expected,
  patch: EntityPatch,
  events: readonly LibraryEvent[],
) =>
  changeRow(
    db,
    expected,
    `description = coalesce($3, description),
     config = coalesce($4::jsonb, config),
     metadata = coalesce($5::jsonb, metadata),
     status = coalesce($6, status),
     validation_status = case when $4::jsonb is null then validation_status else 'pending' end,
     validation_results = case when $4::jsonb is null then validation_results else null end,
     validated_at = case when $4::jsonb is null then validated_at else null end`,
    [
      patch.description ?? null,
      patch.config === undefined ? null : JSON.stringify(patch.config),
      patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
      patch.status ?? null,
    ],
    events,
  )

export const softDeleteEntity = (db: Queryable, expected: Expected, events: readonly LibraryEvent[]) =>
  changeRow(db, expected, `status = 'deleted', deleted_at = now()`, [], events)

export const recordValidation = (
  db: Queryable,
  expected: Expected,
  valid: boolean,
  results: RuleResult[],
  events: readonly LibraryEvent[],
) =>
  changeRow(
    db,
    expected,
    `validation_status = $3, validation_results = $4::jsonb, validated_at = now()`,
    [valid ? 'passed' : 'failed', JSON.stringify(results)],
    events,
  )
