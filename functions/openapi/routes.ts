import { openApiRoutes } from '../../shared/openapi/routes'
import { functionsDocument } from './document'

export const functionsOpenApiRoutes = openApiRoutes(functionsDocument)
