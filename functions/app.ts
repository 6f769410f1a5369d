import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { onError } from '../shared/http/on-error'
import { errorBody } from '../shared/http-error'
import type { HonoEnv } from './env'
import { toHttpError } from './lib/http-errors'
import { log } from './log'
import { requireApiKey } from './middleware/api-key'
import { requireConfig } from './middleware/config'
import { database } from './middleware/database'
import { traceContext } from './middleware/trace-context'
import { functionsOpenApiRoutes } from './openapi/routes'
import { deploymentRoutes } from './routes/deployments'
import { entityRoutes } from './routes/entities'
import { healthRoutes } from './routes/health'
import { internalSwapRoutes } from './routes/internal-swap'
import { swapRoutes } from './routes/swaps'
import { webhookRoutes } from './routes/webhooks'

export type { Bindings, HonoEnv, Variables } from './env'

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** A caller's X-Request-Id is kept when it matches REQUEST_ID; otherwise the request gets a UUID. */
const givenOrNewRequestId = (c: Context) => {
  const given = c.req.header('x-request-id')
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID()
}

// limitLength 0: hono/request-id's own check (which lets `=` through) never keeps the header, the
// generator decides; the middleware sets c.var.requestId and the X-Request-Id response header
const requestIdentity = requestId({ limitLength: 0, generator: givenOrNewRequestId })

// Hono hands only Error instances to onError; anything else thrown would escape as an uncaught exception
const normalizeThrown: MiddlewareHandler<HonoEnv> = async function normalizeThrown(_c, next) {
  try {
    await next()
  } catch (err) {
    throw toHttpError(err)
  }
}

/**
 * For a path no handler answered: the methods that have a handler on it (with HEAD where GET is),
 * empty when the path itself is unknown. Built once from the registered routes.
 */
const allowedMethods = (routes: ReadonlyArray<{ method: string; path: string }>) => {
  const byPattern = new Map<string, Set<string>>()
  for (const route of routes) {
    if (route.method === 'ALL') continue
    const methods = byPattern.get(route.path) ?? new Set<string>()
    methods.add(route.method.toUpperCase())
    if (route.method.toUpperCase() === 'GET') methods.add('HEAD')
    byPattern.set(route.path, methods)
  }
  const patterns = [...byPattern].map(([path, methods]) => ({
    match: new RegExp(
      `^${path
        .split('/')
        .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}/?$`,
    ),
    methods,
  }))
  return (path: string): string[] => {
    const found = new Set<string>()
    for (const pattern of patterns) {
      if (pattern.match.test(path)) for (const method of pattern.methods) found.add(method)
    }
    return [...found].sort()
  }
}

// mounted in one chain so that `typeof app` carries every route's types, for hono/client
export const createApp = () => {
  const api = new Hono<HonoEnv>()
    .use(requireConfig(), requireApiKey(), database())
    .route('/entities', entityRoutes)
    .route('/deployments', deploymentRoutes)
    .route('/swaps', swapRoutes)

  let registered: Hono['routes'] = []
  const app = new Hono<HonoEnv>()
    .use(requestIdentity, traceContext(), normalizeThrown)
    .route('/health', healthRoutes)
    .route(
      '/',
      functionsOpenApiRoutes(() => registered),
    )
    .route('/api/v1', api)
    .route('/webhooks', webhookRoutes)
    .route('/internal', internalSwapRoutes)

  registered = app.routes
  const allowed = allowedMethods(app.routes)
  app.notFound((c) => {
    const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path
    const methods = allowed(c.req.path)
    if (methods.length) {
      return c.json(
        errorBody(
          'method_not_allowed',
          `${c.req.method} is not allowed on ${path}; allowed: ${methods.join(', ')}`,
          c.get('requestId'),
          { method: c.req.method, allowed: methods },
        ),
        405,
        { allow: methods.join(', ') },
      )
    }
    return c.json(
      errorBody('not_found', `No route ${c.req.method} ${path}`, c.get('requestId'), { path }),
      404,
    )
  })

  app.onError(onError({ logger: log, toHttpError, logServerErrors: true }))

  return app
}

export const app = createApp()

export type AppType = ReturnType<typeof createApp>
