import { describeRoutes, type RouteDoc } from '../../shared/openapi/describe-route'
import {
  api,
  conflict,
  DEPLOYMENT_ID,
  ENTITY_ID,
  idOf,
  invalid,
  notFound,
  page,
  traced,
} from '../openapi/doc-parts'
import { DeploymentView } from '../services/deployments'

const deployment = { ...api, tag: 'deployments', params: idOf('deployment') } as const

const transition = (
  action: 'complete' | 'fail' | 'rollback',
  summary: string,
  example: unknown,
): RouteDoc => ({
  ...deployment,
  ...traced,
  summary,
  examples: [{ summary, path: `/api/v1/deployments/${DEPLOYMENT_ID}/${action}`, body: example }],
  responses: {
    200: { description: 'The deployment', schema: DeploymentView },
    400: invalid,
    404: notFound('deployment'),
    409: conflict('The deployment is not in a state that allows this'),
  },
})

export const deploymentDocs = describeRoutes({
  start: {
    ...api,
    ...traced,
    tag: 'deployments',
    summary: 'Start a deployment (emits deployment.started)',
    examples: [
      { summary: 'To paper trading', body: { entity_id: ENTITY_ID, environment: 'paper', version: '1.0.0' } },
    ],
    responses: {
      201: { description: 'Started', schema: DeploymentView },
      400: invalid,
      404: notFound('entity'),
      409: conflict('A deployment of this entity to this environment is in progress'),
    },
  },
  list: {
    ...api,
    tag: 'deployments',
    summary: 'List deployments',
    examples: [{ summary: 'Of one entity', query: { entity_id: ENTITY_ID } }],
    responses: { 200: { description: 'A page', schema: page(DeploymentView) }, 400: invalid },
  },
  get: {
    ...deployment,
    summary: 'Get a deployment',
    examples: [{ summary: 'By id', path: `/api/v1/deployments/${DEPLOYMENT_ID}` }],
    responses: {
      200: { description: 'The deployment', schema: DeploymentView },
      404: notFound('deployment'),
    },
  },
  complete: transition('complete', 'Complete a deployment (emits deployment.completed)', {}),
  fail: transition('fail', 'Fail a deployment (emits deployment.failed)', {
    error: 'health check timed out',
  }),
  rollback: transition('rollback', 'Roll a deployment back (emits deployment.rolled_back)', {
    reason: 'drawdown over limit',
  }),
})
