import type { Hono } from 'hono'
import { type ClientRequestOptions, hc } from 'hono/client'
import type { MergeSchemaPath, Schema } from 'hono/types'
import type { HonoEnv } from './env'
import type { deploymentRoutes } from './routes/deployments'
import type { entityRoutes } from './routes/entities'
import type { healthRoutes } from './routes/health'
import type { swapRoutes } from './routes/swaps'

type SchemaOf<T> = T extends Hono<HonoEnv, infer S extends Schema, string> ? S : never
type Mounted<T, Path extends string> = MergeSchemaPath<SchemaOf<T>, Path>

/**
 * The type of the functions app for `hono/client`. `createApp` mounts its route groups one
 * statement at a time, which hides their types from `typeof app`, so the public groups are mounted
 * here at the type level only, at the same paths. The deployment transitions
 * (`/:id/complete|fail|rollback`) are registered in a loop and so are untyped: call them with
 * `$url()` and `fetch`.
 */
export type AppType = Hono<
  HonoEnv,
  | Mounted<typeof healthRoutes, '/health'>
  | Mounted<typeof entityRoutes, '/api/v1/entities'>
  | Mounted<typeof deploymentRoutes, '/api/v1/deployments'>
  | Mounted<typeof swapRoutes, '/api/v1/swaps'>,
  '/'
>

/** A typed client of the functions API: `await client.api.v1.entities.$post({ json })`. */
export const createFunctionsClient = (baseUrl: string, apiKey: string, options: ClientRequestOptions = {}) =>
  hc<AppType>(baseUrl, {
    ...options,
    headers: {
      ...(options.headers as Record<string, string> | undefined),
      authorization: `Bearer ${apiKey}`,
    },
  })
