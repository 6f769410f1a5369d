import { Hono } from 'hono'
import { REFERENCE_PAGE_CSP } from '../reference-page'
import { docsPage } from './docs-page'
import type { OpenApiDocument } from './document'

/** `GET /openapi.json` and `GET /docs`, public, for any Hono app to mount at `/`. */
export const openApiRoutes = (document: () => OpenApiDocument) => {
  let cached: OpenApiDocument | undefined
  return new Hono()
    .get('/openapi.json', (c) => {
      cached ??= document()
      return c.json(cached)
    })
    .get('/docs', (c) => {
      cached ??= document()
      c.header('content-security-policy', REFERENCE_PAGE_CSP)
      return c.html(docsPage(escapeHtml(cached.info.title)))
    })
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
