import type { RegisteredRoute } from '../../shared/openapi/operations-from-routes'
import { openApiRoutes } from '../../shared/openapi/routes'
import { functionsDocument } from './document'

/** Built on first request from the routes the app registered (known only once it is assembled). */
export const functionsOpenApiRoutes = (routes: () => readonly RegisteredRoute[]) =>
  openApiRoutes(() => functionsDocument(routes()))
