import { Hono } from 'hono'
import document from '../../schemas/asyncapi.json' with { type: 'json' }
import { REFERENCE_PAGE_CSP } from '../../shared/reference-page'
import { asyncApiPage } from './page'

/** `GET /asyncapi.json` (the committed document `npm run schemas` writes) and `GET /asyncapi`, public. */
export const asyncApiRoutes = () =>
  new Hono()
    .get('/asyncapi.json', (c) => c.json(document))
    .get('/asyncapi', (c) => {
      c.header('content-security-policy', REFERENCE_PAGE_CSP)
      return c.html(asyncApiPage)
    })
