import * as v from 'valibot'
import { Environment, IsoTimestamp, SemVer, Uuid } from '../../shared/domain'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { HttpError } from '../../shared/http-error'
import { type DeploymentRow, getDeployment, insertDeployment, setDeploymentStatus } from '../db/deployments'
import type { Queryable } from '../db/sql'
import {
  DEPLOYMENT_STATUSES,
  type DeploymentAction,
  nextStatus,
  TRANSITIONS,
} from '../domain/deployment-state'
import { type ActionContext, eventMetadata } from './context'
import { type Changed, liveEntity } from './entities'
import { untilApplied } from './optimistic'

export const deploymentNotFound = (id: string) =>
  new HttpError(404, 'deployment_not_found', `No deployment with id ${id}`, { deployment_id: id })

export interface StartInput {
  entity_id: string
  environment: Environment
  version?: string
}

export const startDeployment = (db: Queryable, input: StartInput, ctx: ActionContext) =>
  untilApplied(
    async (): Promise<Changed<DeploymentRow> | undefined> => {
      const entity = await liveEntity(db, input.entity_id)
      if (input.version !== undefined && input.version !== entity.version) {
        throw new HttpError(
          409,
          'version_mismatch',
          `Entity ${entity.id} is version ${entity.version}, not ${input.version}`,
          { entity_version: entity.version, requested_version: input.version },
        )
      }
      const id = crypto.randomUUID()
      const event = createEvent({
        event_type: 'deployment.started',
        entity_id: entity.id,
        deployment_id: id,
        data: { environment: input.environment, version: entity.version },
        metadata: eventMetadata(ctx),
      })
      // the entity's version is part of the insert's condition: a delete or change meanwhile re-reads
      const written = await insertDeployment(
        db,
        entity,
        {
          id,
          entity_id: entity.id,
          environment: input.environment,
          version: entity.version,
          started_by: ctx.actor,
        },
        [event],
      )
      const row = written.rows[0]
      return row ? { value: row, events: [event] } : undefined
    },
    { entity_id: input.entity_id },
  )

export interface TransitionDetails {
  /** Required by `fail`. */
  error?: string
  /** Required by `rollback`. */
  reason?: string
}

const transitionEvent = (d: DeploymentRow, action: DeploymentAction, ctx: ActionContext): LibraryEvent => {
  const common = { entity_id: d.entity_id, deployment_id: d.id, metadata: eventMetadata(ctx) }
  switch (action) {
    case 'complete':
      return createEvent({
        ...common,
        event_type: 'deployment.completed',
        environment: d.environment,
        version: d.version,
        data: { duration_ms: Math.max(0, (d.finished_at ?? new Date()).getTime() - d.started_at.getTime()) },
      })
    case 'fail':
      return createEvent({
        ...common,
        event_type: 'deployment.failed',
        data: { environment: d.environment, version: d.version, error: d.error ?? '' },
      })
    case 'rollback':
      return createEvent({
        ...common,
        event_type: 'deployment.rolled_back',
        data: { environment: d.environment, version: d.version, reason: d.rollback_reason ?? '' },
      })
  }
}

/**
 * Moves a deployment through its state machine and records the matching event in the same
 * statement. Illegal transitions are a 409 naming the current state. Reusable by anything that
 * drives deployments (API routes, inbound webhooks, inside their transaction).
 */
export const transitionDeployment = (
  db: Queryable,
  deploymentId: string,
  action: DeploymentAction,
  details: TransitionDetails,
  ctx: ActionContext,
) =>
  untilApplied(
    async (): Promise<Changed<DeploymentRow> | undefined> => {
      const current = await getDeployment(db, deploymentId)
      if (!current) throw deploymentNotFound(deploymentId)
      const to = nextStatus(current.status, action)
      if (to === null) {
        throw new HttpError(
          409,
          'invalid_transition',
          `Cannot ${action} a deployment that is ${current.status}`,
          { current_status: current.status, action, allowed_from: TRANSITIONS[action].from },
        )
      }
      const at = new Date()
      const change = {
        error: action === 'fail' ? (details.error ?? 'unspecified') : undefined,
        reason: action === 'rollback' ? (details.reason ?? 'unspecified') : undefined,
      }
      // the row as the update leaves it, for the event written with it
      const next: DeploymentRow = {
        ...current,
        status: to,
        error: change.error ?? current.error,
        rollback_reason: change.reason ?? current.rollback_reason,
        finished_at: to === 'completed' || to === 'failed' ? at : current.finished_at,
      }
      const event = transitionEvent(next, action, ctx)
      const written = await setDeploymentStatus(
        db,
        { id: deploymentId, from: current.status, to, at },
        change,
        [event],
      )
      const row = written.rows[0]
      return row ? { value: row, events: [event] } : undefined
    },
    { deployment_id: deploymentId },
  )

/** The same transition inside a caller's transaction (e.g. with a webhook's replay record). */
export const transitionDeploymentIn = transitionDeployment

/** A deployment as the API answers it (`deploymentView`), for the OpenAPI document. */
export const DeploymentView = v.object({
  id: Uuid,
  entity_id: Uuid,
  environment: Environment,
  version: SemVer,
  status: v.picklist(DEPLOYMENT_STATUSES),
  error: v.nullable(v.string()),
  rollback_reason: v.nullable(v.string()),
  started_by: v.string(),
  started_at: IsoTimestamp,
  finished_at: v.nullable(IsoTimestamp),
  rolled_back_at: v.nullable(IsoTimestamp),
  updated_at: IsoTimestamp,
})

export const deploymentView = (d: DeploymentRow) => ({
  id: d.id,
  entity_id: d.entity_id,
  environment: d.environment,
  version: d.version,
  status: d.status,
  error: d.error,
  rollback_reason: d.rollback_reason,
  started_by: d.started_by,
  started_at: d.started_at,
  finished_at: d.finished_at,
  rolled_back_at: d.rolled_back_at,
  updated_at: d.updated_at,
})
