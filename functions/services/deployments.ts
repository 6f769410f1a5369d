import type { Pool, PoolClient } from '@neondatabase/serverless'
import type { Environment } from '../../shared/domain'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { HttpError } from '../../shared/http-error'
import { type DeploymentRow, getDeployment, insertDeployment, setDeploymentStatus } from '../db/deployments'
import { getEntity } from '../db/entities'
import { insertEvents } from '../db/outbox'
import { withTransaction } from '../db/pool'
import { type DeploymentAction, nextStatus, TRANSITIONS } from '../domain/deployment-state'
import { type ActionContext, eventMetadata } from './context'
import { type Changed, entityDeleted, entityNotFound } from './entities'

export const deploymentNotFound = (id: string) =>
  new HttpError(404, 'deployment_not_found', `No deployment with id ${id}`, { deployment_id: id })

export interface StartInput {
  entity_id: string
  environment: Environment
  version?: string
}

export const startDeployment = (pool: Pool, input: StartInput, ctx: ActionContext) =>
  withTransaction(pool, async (tx): Promise<Changed<DeploymentRow>> => {
    // locked so that a concurrent delete cannot slip in between the check and the insert
    const entity = await getEntity(tx, input.entity_id, { forUpdate: true })
    if (!entity) throw entityNotFound(input.entity_id)
    if (entity.status === 'deleted') throw entityDeleted(input.entity_id)
    if (input.version !== undefined && input.version !== entity.version) {
      throw new HttpError(
        409,
        'version_mismatch',
        `Entity ${entity.id} is version ${entity.version}, not ${input.version}`,
        { entity_version: entity.version, requested_version: input.version },
      )
    }
    const deployment = await insertDeployment(tx, {
      id: crypto.randomUUID(),
      entity_id: entity.id,
      environment: input.environment,
      version: entity.version,
      started_by: ctx.actor,
    })
    const event = createEvent({
      event_type: 'deployment.started',
      entity_id: entity.id,
      deployment_id: deployment.id,
      data: { environment: deployment.environment, version: deployment.version },
      metadata: eventMetadata(ctx),
    })
    await insertEvents(tx, [event])
    return { value: deployment, events: [event] }
  })

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
 * transaction. Illegal transitions are a 409 naming the current state. Reusable by anything that
 * drives deployments (API routes, inbound webhooks).
 */
export const transitionDeployment = (
  pool: Pool,
  deploymentId: string,
  action: DeploymentAction,
  details: TransitionDetails,
  ctx: ActionContext,
) => withTransaction(pool, (tx) => transitionDeploymentIn(tx, deploymentId, action, details, ctx))

/** The same transition inside a caller's transaction (e.g. with a webhook's replay record). */
export const transitionDeploymentIn = async (
  tx: PoolClient,
  deploymentId: string,
  action: DeploymentAction,
  details: TransitionDetails,
  ctx: ActionContext,
): Promise<Changed<DeploymentRow>> => {
  const current = await getDeployment(tx, deploymentId, { forUpdate: true })
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
  const deployment = await setDeploymentStatus(tx, deploymentId, to, {
    error: action === 'fail' ? (details.error ?? 'unspecified') : undefined,
    reason: action === 'rollback' ? (details.reason ?? 'unspecified') : undefined,
  })
  const event = transitionEvent(deployment, action, ctx)
  await insertEvents(tx, [event])
  return { value: deployment, events: [event] }
}

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
