import {
  CreatedSubscription,
  ReplayReply,
  SubscriptionDetails,
  SubscriptionList,
} from '../../shared/bridge-contract'
import { describeRoutes, type RouteDoc } from '../../shared/openapi/describe-route'
import { errorResponse } from '../../shared/openapi/document'
import { forbidden, invalid, token, unavailable } from '../openapi/doc-parts'

const notFound = errorResponse('No such subscription (or not visible to this token)')
const named = {
  ...token,
  tag: 'subscriptions',
  params: { name: { description: 'Subscription name' } },
} as const

const action = (name: 'replay' | 'pause' | 'resume', summary: string): RouteDoc => ({
  ...named,
  summary,
  examples: [{ summary: 'By name', path: `/v1/subscriptions/audit-log/${name}` }],
  responses: {
    [name === 'replay' ? 202 : 200]: {
      description: name === 'replay' ? 'Number of dead letters replayed' : 'The subscription',
      schema: name === 'replay' ? ReplayReply : SubscriptionDetails,
    },
    404: notFound,
  },
})

export const subscriptionDocs = describeRoutes({
  create: {
    ...token,
    tag: 'subscriptions',
    summary: 'Create a webhook push subscription (a JetStream durable consumer)',
    description: 'Deliveries are signed per Standard Webhooks; the secret is returned this once.',
    examples: [
      {
        summary: 'Entity events to a receiver',
        body: {
          name: 'audit-log',
          subject: 'library.entity.>',
          url: 'https://hooks.example.com/library',
          max_deliver: 10,
        },
      },
    ],
    responses: {
      201: { description: 'Created', schema: CreatedSubscription },
      400: invalid,
      403: forbidden,
      409: errorResponse('A subscription with this name exists'),
      429: errorResponse(
        'A subscription limit is reached: code subscription_limit_principal (this token) or subscription_limit_total (the bridge)',
      ),
      503: unavailable,
    },
  },
  list: {
    ...token,
    tag: 'subscriptions',
    summary: 'List the subscriptions the token may see',
    responses: { 200: { description: 'Subscriptions', schema: SubscriptionList } },
  },
  get: {
    ...named,
    summary: 'A subscription with delivery stats',
    examples: [{ summary: 'By name', path: '/v1/subscriptions/audit-log' }],
    responses: { 200: { description: 'The subscription', schema: SubscriptionDetails }, 404: notFound },
  },
  delete: {
    ...named,
    summary: 'Delete a subscription and its consumer',
    examples: [{ summary: 'By name', path: '/v1/subscriptions/audit-log' }],
    responses: { 204: { description: 'Deleted' }, 404: notFound },
  },
  replay: action('replay', 'Replay the dead letters of a subscription'),
  pause: action('pause', 'Pause deliveries'),
  resume: action('resume', 'Resume deliveries'),
})
