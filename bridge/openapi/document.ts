import { buildDocument } from '../../shared/openapi/document'
import { BRIDGE_OPERATIONS } from './operations'

export const bridgeDocument = () =>
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
    operations: BRIDGE_OPERATIONS,
  })
