import { Hono } from 'hono'
import document from '../../schemas/asyncapi.json' with { type: 'json' }
import { asyncApiPage } from './page'

/** `GET /asyncapi.json` (the committed document `npm run schemas` writes) and `GET /asyncapi`, public. */
export const asyncApiRoutes = () =>
  new Hono()
    .get('/asyncapi.json', (c) => c.json(document))
    .get('/asyncapi', (c) => {
      c.header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      )
      return c.html(asyncApiPage)
    })
