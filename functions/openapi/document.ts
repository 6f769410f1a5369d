import { buildDocument } from '../../shared/openapi/document'
import { operationsFromRoutes, type RegisteredRoute } from '../../shared/openapi/operations-from-routes'

export const functionsDocument = (routes: readonly RegisteredRoute[]) =>
  buildDocument({
    title: 'Library functions API',
    version: '1',
    description:
      'Entities, deployments and swaps of the library; every change is an event on NATS JetStream. ' +
      'Authenticate with `Authorization: Bearer <API key>`.',
    securitySchemes: {
      apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' },
      forwardToken: { type: 'http', scheme: 'bearer', description: 'FORWARD_TOKEN, held by the bridge' },
    },
    tags: ['entities', 'deployments', 'swaps'],
    operations: operationsFromRoutes(routes),
  })
