import type { RouterRoute } from 'hono/types'
import { buildDocument } from '../../shared/openapi/document'
import { operationsFromRoutes } from '../../shared/openapi/operations-from-routes'

export const bridgeDocument = (routes: readonly RouterRoute[]) =>
  buildDocument({
    title: 'Library events bridge',
    version: '1',
    description:
      'HTTP in front of NATS JetStream: publish library events, request/reply, Server-Sent Events and ' +
      'webhook push subscriptions. Authenticate with `Authorization: Bearer <token>`; each token is ' +
      'scoped to subject patterns for publish, request and subscribe. The live event console is at /console.',
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token from BRIDGE_TOKENS' },
    },
    operations: operationsFromRoutes(routes),
  })
