import type { PoolClient } from '@neondatabase/serverless'
import type { EntityType } from '../../shared/domain'
import { HttpError } from '../../shared/http-error'
import type { RuleResult } from '../domain/validation-rules'
import { toPage } from './page'
import { type Db, isUniqueViolation } from './pool'

export const ENTITY_STATUSES = ['active', 'deprecated', 'deleted'] as const
export type EntityStatus = (typeof ENTITY_STATUSES)[number]

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
}

const COLUMNS = `id, seq::text as seq, name, type, version, description, config, metadata, status,
  validation_status, validation_results, validated_at, created_by, created_at, updated_at, deleted_at`

export type NewEntity = Pick<
  EntityRow,
  'id' | 'name' | 'type' | 'version' | 'description' | 'config' | 'metadata' | 'created_by'
>

export const entityExists = (name: string, version: string) =>
  new HttpError(409, 'entity_exists', `An entity named '${name}' with version ${version} already exists`, {
    name,
    version,
  })

export const insertEntity = async (tx: PoolClient, entity: NewEntity): Promise<EntityRow> => {
  try {
    const { rows } = await tx.query<EntityRow>(
      `insert into entities (id, name, type, version, description, config, metadata, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8)
       returning ${COLUMNS}`,
      [
        entity.id,
        entity.name,
        entity.type,
        entity.version,
        entity.description,
        JSON.stringify(entity.config),
        JSON.stringify(entity.metadata),
        entity.created_by,
      ],
    )
    return rows[0]!
  } catch (err) {
    if (isUniqueViolation(err, 'entities_name_version_key')) throw entityExists(entity.name, entity.version)
    throw err
  }
}

export const getEntity = async (
  db: Db,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EntityRow | null> => {
  const { rows } = await db.query<EntityRow>(
    `select ${COLUMNS} from entities where id = $1 ${options.forUpdate ? 'for update' : ''}`,
    [id],
  )
  return rows[0] ?? null
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
  db: Db,
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

/** A config change makes an earlier validation stale, so it goes back to pending. */
export const updateEntity = async (tx: PoolClient, id: string, patch: EntityPatch): Promise<EntityRow> => {
  const { rows } = await tx.query<EntityRow>(
    `update entities set
        description = coalesce($2, description),
        config = coalesce($3::jsonb, config),
        metadata = coalesce($4::jsonb, metadata),
        status = coalesce($5, status),
        validation_status = case when $3::jsonb is null then validation_status else 'pending' end,
        validation_results = case when $3::jsonb is null then validation_results else null end,
        validated_at = case when $3::jsonb is null then validated_at else null end,
        updated_at = now()
      where id = $1
      returning ${COLUMNS}`,
    [
      id,
      patch.description ?? null,
      patch.config === undefined ? null : JSON.stringify(patch.config),
      patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
      patch.status ?? null,
    ],
  )
  return rows[0]!
}

export const softDeleteEntity = async (tx: PoolClient, id: string): Promise<EntityRow> => {
  const { rows } = await tx.query<EntityRow>(
    `update entities set status = 'deleted', deleted_at = now(), updated_at = now()
      where id = $1 returning ${COLUMNS}`,
    [id],
  )
  return rows[0]!
}

export const recordValidation = async (
  tx: PoolClient,
  id: string,
  valid: boolean,
  results: RuleResult[],
): Promise<EntityRow> => {
  const { rows } = await tx.query<EntityRow>(
    `update entities set validation_status = $2, validation_results = $3::jsonb, validated_at = now(),
        updated_at = now()
      where id = $1 returning ${COLUMNS}`,
    [id, valid ? 'passed' : 'failed', JSON.stringify(results)],
  )
  return rows[0]!
}
