import { openApiRoutes } from '../../shared/openapi/routes'
import { functionsDocument } from './document'
import type { RegisteredRoute } from './route-inputs'

/** Built on first request from the routes the app registered (known only once it is assembled). */
export const functionsOpenApiRoutes = (routes: () => readonly RegisteredRoute[]) =>
  openApiRoutes(() => functionsDocument(routes()))
