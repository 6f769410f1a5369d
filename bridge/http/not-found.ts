import type { Context } from 'hono'
import { errorBody } from '../../shared/http-error'
import type { BridgeEnv } from '../types'

export const notFound = (c: Context<BridgeEnv>) =>
  c.json(
    errorBody('not_found', `No route for ${c.req.method} ${c.req.path}`, c.get('requestId') ?? 'unknown'),
    404,
  )
