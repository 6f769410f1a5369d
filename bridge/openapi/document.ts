import type { RouterRoute } from 'hono/types'
import { buildDocument, type OperationSpec } from '../../shared/openapi/document'
import { declaredInput } from '../http/validate'
import { BRIDGE_OPERATIONS } from './operations'

/**
 * The operations with the request bodies and query strings their routes declare (validators),
 * over what `operations.ts` says of them (summaries, responses, examples, the rest).
 */
export const bridgeOperations = (routes: readonly RouterRoute[]): OperationSpec[] =>
  BRIDGE_OPERATIONS.map((op) => {
    const declared = routes
      .filter((route) => route.method === op.method.toUpperCase() && route.path === op.path)
      .map((route) => declaredInput(route.handler))
    return Object.assign({}, op, ...declared)
  })

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
    operations: bridgeOperations(routes),
  })
