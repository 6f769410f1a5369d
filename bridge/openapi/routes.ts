import { openApiRoutes } from '../../shared/openapi/routes'
import { bridgeDocument } from './document'

export const bridgeOpenApiRoutes = () => openApiRoutes(bridgeDocument)
