import type { RouterRoute } from 'hono/types'
import { openApiRoutes } from '../../shared/openapi/routes'
import { bridgeDocument } from './document'

/** `routes` is read once, at the first request, when every route of the app is registered. */
export const bridgeOpenApiRoutes = (routes: () => readonly RouterRoute[]) =>
  openApiRoutes(() => bridgeDocument(routes()))
