import type { PoolClient } from '@neondatabase/serverless'
import type { Environment } from '../../shared/domain'
import { HttpError } from '../../shared/http-error'
import type { DeploymentStatus } from '../domain/deployment-state'
import { toPage } from './page'
import { type Db, isUniqueViolation } from './pool'

export interface DeploymentRow {
  id: string
  seq: string
  entity_id: string
  environment: Environment
  version: string
  status: DeploymentStatus
  error: string | null
  rollback_reason: string | null
  started_by: string
  started_at: Date
  finished_at: Date | null
  rolled_back_at: Date | null
  updated_at: Date
}

const COLUMNS = `id, seq::text as seq, entity_id, environment, version, status, error, rollback_reason,
  started_by, started_at, finished_at, rolled_back_at, updated_at`

export interface NewDeployment {
  id: string
  entity_id: string
  environment: Environment
  version: string
  started_by: string
}

export const insertDeployment = async (tx: PoolClient, d: NewDeployment): Promise<DeploymentRow> => {
  try {
    const { rows } = await tx.query<DeploymentRow>(
      `insert into deployments (id, entity_id, environment, version, started_by)
       values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
      [d.id, d.entity_id, d.environment, d.version, d.started_by],
    )
    return rows[0]!
  } catch (err) {
    if (isUniqueViolation(err, 'deployments_one_in_progress_key')) {
      throw new HttpError(
        409,
        'deployment_in_progress',
        `A deployment of this entity to ${d.environment} is already in progress`,
        { entity_id: d.entity_id, environment: d.environment },
      )
    }
    throw err
  }
}

export const getDeployment = async (
  db: Db,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DeploymentRow | null> => {
  const { rows } = await db.query<DeploymentRow>(
    `select ${COLUMNS} from deployments where id = $1 ${options.forUpdate ? 'for update' : ''}`,
    [id],
  )
  return rows[0] ?? null
}

export interface DeploymentFilters {
  entityId?: string
  environment?: Environment
  status?: DeploymentStatus
  afterSeq?: string
  limit: number
}

export const listDeployments = async (
  db: Db,
  filters: DeploymentFilters,
): Promise<{ rows: DeploymentRow[]; nextSeq: string | null }> => {
  const { rows } = await db.query<DeploymentRow>(
    `select ${COLUMNS} from deployments
      where ($1::uuid is null or entity_id = $1)
        and ($2::text is null or environment = $2)
        and ($3::text is null or status = $3)
        and ($4::bigint is null or seq > $4::bigint)
      order by deployments.seq
      limit $5`,
    [
      filters.entityId ?? null,
      filters.environment ?? null,
      filters.status ?? null,
      filters.afterSeq ?? null,
      filters.limit + 1,
    ],
  )
  return toPage(rows, filters.limit)
}

export const setDeploymentStatus = async (
  tx: PoolClient,
  id: string,
  status: DeploymentStatus,
  details: { error?: string; reason?: string },
): Promise<DeploymentRow> => {
  const { rows } = await tx.query<DeploymentRow>(
    `update deployments set
        status = $2,
        error = coalesce($3, error),
        rollback_reason = coalesce($4, rollback_reason),
        finished_at = case when $2 in ('completed', 'failed') then now() else finished_at end,
        rolled_back_at = case when $2 = 'rolled_back' then now() else rolled_back_at end,
        updated_at = now()
      where id = $1 returning ${COLUMNS}`,
    [id, status, details.error ?? null, details.reason ?? null],
  )
  return rows[0]!
}
