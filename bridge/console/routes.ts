import { Hono } from 'hono'
import { consoleScript } from './app.bundle'
import { consolePage } from './page'
import { consoleStyle } from './style'

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"

/** The live event console: static assets built into the bridge, public (the token is entered in the page). */
export const consoleRoutes = () =>
  new Hono()
    .get('/console', (c) => {
      c.header('content-security-policy', CSP)
      c.header('cache-control', 'no-cache')
      return c.html(consolePage)
    })
    .get('/console/', (c) => c.redirect('/console', 301))
    .get('/console/app.js', (c) => {
      c.header('content-type', 'text/javascript; charset=utf-8')
      c.header('cache-control', 'no-cache')
      return c.body(consoleScript)
    })
    .get('/console/app.css', (c) => {
      c.header('content-type', 'text/css; charset=utf-8')
      c.header('cache-control', 'no-cache')
      return c.body(consoleStyle)
    })
