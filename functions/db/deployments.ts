import type { Environment } from '../../shared/domain'
import type { LibraryEvent } from '../../shared/events'
import type { DeploymentStatus } from '../domain/deployment-state'
import { DomainFailure } from '../domain/failure'
import type { Expected } from './entities'
import { runWithOutbox, type Written } from './outbox'
import { toPage } from './page'
import { isUniqueViolation } from './pool'
import type { Queryable } from './sql'

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

/**
 * Inserts the deployment and its events in one statement, provided the entity still has the
 * version that was read. The entity row is locked for the statement, so deployments and changes
 * of one entity commit (and number their events) one after another. No rows: the entity changed.
 */
export const insertDeployment = async (
  db: Queryable,
  entity: Expected,
  d: NewDeployment,
  events: readonly LibraryEvent[],
): Promise<Written<DeploymentRow>> => {
  try {
    return await runWithOutbox<DeploymentRow>(db, {
      write: `insert into deployments (id, entity_id, environment, version, started_by)
              select $1::uuid, e.id, $3::text, $4::text, $5::text
                from (select id from entities where id = $2 and row_version = $6::bigint for no key update) e
              returning ${COLUMNS}`,
      params: [d.id, entity.id, d.environment, d.version, d.started_by, entity.row_version],
      events,
    })
  } catch (err) {
    if (isUniqueViolation(err, 'deployments_one_in_progress_key')) {
      throw new DomainFailure(
        'deployment_in_progress',
        `A deployment of this entity to ${d.environment} is already in progress`,
        { entity_id: d.entity_id, environment: d.environment },
      )
    }
    throw err
  }
}

export const getDeployment = async (db: Queryable, id: string): Promise<DeploymentRow | null> => {
  const { rows } = await db.query<DeploymentRow>(`select ${COLUMNS} from deployments where id = $1`, [id])
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
  db: Queryable,
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

/**
 * Moves a deployment from `from` to `to` and records its events in one statement; `at` is when it
 * finished or was rolled back. No rows: it was no longer in `from` (a concurrent transition won).
 * Its entity's row is locked first, so the events of one entity take their outbox ids in commit
 * order whichever route writes them.
 */
export const setDeploymentStatus = (
  db: Queryable,
  move: { id: string; from: DeploymentStatus; to: DeploymentStatus; at: Date },
  details: { error?: string; reason?: string },
  events: readonly LibraryEvent[],
): Promise<Written<DeploymentRow>> =>
  runWithOutbox<DeploymentRow>(db, {
    write: `update deployments set
              status = $2,
              error = coalesce($4, error),
              rollback_reason = coalesce($5, rollback_reason),
              finished_at = case when $2 in ('completed', 'failed') then $6::timestamptz else finished_at end,
              rolled_back_at = case when $2 = 'rolled_back' then $6::timestamptz else rolled_back_at end,
              updated_at = now()
            where id = $1 and status = $3
              and entity_id = (select e.id from entities e
                                where e.id = (select entity_id from deployments where id = $1)
                                  for no key update)
            returning ${COLUMNS}`,
    params: [
      move.id,
      move.to,
      move.from,
      details.error ?? null,
      details.reason ?? null,
      move.at.toISOString(),
    ],
    events,
  })
