import { type Context, Hono } from 'hono'
import * as v from 'valibot'
import { Environment, SemVer, Uuid } from '../../shared/domain'
import { getDeployment, listDeployments } from '../db/deployments'
import { DEPLOYMENT_STATUSES } from '../domain/deployment-state'
import type { HonoEnv } from '../env'
import { CursorParam, encodeCursor, LimitParam } from '../lib/request-input'
import { idParam, jsonBody, optionalJsonBody, queryInput } from '../lib/validate'
import { actionContext } from '../services/context'
import {
  deploymentNotFound,
  deploymentView,
  startDeployment,
  type TransitionDetails,
  transitionDeployment,
} from '../services/deployments'
import { deploymentDocs } from './deployments.doc'

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

const transition = async (
  c: Context<HonoEnv>,
  id: string,
  action: keyof typeof ACTION_BODIES,
  details: TransitionDetails,
) => {
  const { value } = await transitionDeployment(c.var.db, id, action, details, actionContext(c))
  return c.json(deploymentView(value))
}

export const deploymentRoutes = new Hono<HonoEnv>()
  .post('/', deploymentDocs.start, jsonBody(StartDeploymentBody), async (c) => {
    const body = c.req.valid('json')
    const { value } = await startDeployment(
      c.var.db,
      { ...body, entity_id: body.entity_id.toLowerCase() },
      actionContext(c),
    )
    return c.json(deploymentView(value), 201, { location: `/api/v1/deployments/${value.id}` })
  })
  .get('/', deploymentDocs.list, queryInput(ListDeploymentsQuery), async (c) => {
    const query = c.req.valid('query')
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
  .get('/:id', deploymentDocs.get, idParam, async (c) => {
    const { id } = c.req.valid('param')
    const deployment = await getDeployment(c.var.db, id)
    if (!deployment) throw deploymentNotFound(id)
    return c.json(deploymentView(deployment))
  })
  .post('/:id/complete', deploymentDocs.complete, idParam, optionalJsonBody(CompleteDeploymentBody), (c) =>
    transition(c, c.req.valid('param').id, 'complete', c.req.valid('json')),
  )
  .post('/:id/fail', deploymentDocs.fail, idParam, jsonBody(FailDeploymentBody), (c) =>
    transition(c, c.req.valid('param').id, 'fail', c.req.valid('json')),
  )
  .post('/:id/rollback', deploymentDocs.rollback, idParam, jsonBody(RollbackDeploymentBody), (c) =>
    transition(c, c.req.valid('param').id, 'rollback', c.req.valid('json')),
  )
