import { type Context, Hono } from 'hono'
import * as v from 'valibot'
import { Environment, SemVer, Uuid } from '../../shared/domain'
import { getDeployment, listDeployments } from '../db/deployments'
import { DEPLOYMENT_STATUSES } from '../domain/deployment-state'
import type { HonoEnv } from '../env'
import { parseJsonBody } from '../lib/json-body'
import { CursorParam, encodeCursor, LimitParam, parseQuery, uuidParam } from '../lib/request-input'
import { dispatchEvents } from '../middleware/database'
import {
  deploymentNotFound,
  deploymentView,
  startDeployment,
  type TransitionDetails,
  transitionDeployment,
} from '../services/deployments'

const Text = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2_000))

export const StartDeploymentBody = v.strictObject({
  entity_id: Uuid,
  environment: Environment,
  version: v.optional(SemVer),
})

export const CompleteDeploymentBody = v.strictObject({})
export const FailDeploymentBody = v.strictObject({ error: Text })
export const RollbackDeploymentBody = v.strictObject({ reason: Text })

const ACTION_BODIES = {
  complete: CompleteDeploymentBody,
  fail: FailDeploymentBody,
  rollback: RollbackDeploymentBody,
} as const

export const ListDeploymentsQuery = v.strictObject({
  entity_id: v.optional(Uuid),
  environment: v.optional(Environment),
  status: v.optional(v.picklist(DEPLOYMENT_STATUSES)),
  cursor: CursorParam,
  limit: LimitParam(50, 100),
})

const transition = (action: keyof typeof ACTION_BODIES) => async (c: Context<HonoEnv>) => {
  const id = uuidParam(c, 'id')
  const details: TransitionDetails = await parseJsonBody(c, ACTION_BODIES[action], {
    allowEmpty: action === 'complete',
  })
  const { value, events, ready } = await transitionDeployment(c.var.db, id, action, details, {
    actor: c.var.actor,
    requestId: c.var.requestId,
  })
  dispatchEvents(c, events, ready)
  return c.json(deploymentView(value))
}

export const deploymentRoutes = new Hono<HonoEnv>()
  .post('/', async (c) => {
    const body = await parseJsonBody(c, StartDeploymentBody)
    const { value, events, ready } = await startDeployment(
      c.var.db,
      { ...body, entity_id: body.entity_id.toLowerCase() },
      { actor: c.var.actor, requestId: c.var.requestId },
    )
    dispatchEvents(c, events, ready)
    return c.json(deploymentView(value), 201, { location: `/api/v1/deployments/${value.id}` })
  })
  .get('/', async (c) => {
    const query = parseQuery(c, ListDeploymentsQuery)
    const { rows, nextSeq } = await listDeployments(c.var.db, {
      entityId: query.entity_id?.toLowerCase(),
      environment: query.environment,
      status: query.status,
      afterSeq: query.cursor,
      limit: query.limit,
    })
    return c.json({
      items: rows.map(deploymentView),
      next_cursor: nextSeq === null ? null : encodeCursor(nextSeq),
    })
  })
  .get('/:id', async (c) => {
    const id = uuidParam(c, 'id')
    const deployment = await getDeployment(c.var.db, id)
    if (!deployment) throw deploymentNotFound(id)
    return c.json(deploymentView(deployment))
  })
  .post('/:id/complete', transition('complete'))
  .post('/:id/fail', transition('fail'))
  .post('/:id/rollback', transition('rollback'))
