import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import { errorBody, HttpError } from '../../shared/http-error'
import type { BridgeEnv } from '../types'

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** The one place where an error becomes a response body. */
export const handleError = (logger: Logger) =>
  function handleError(err: Error, c: Context<BridgeEnv>) {
    const requestId = c.get('requestId') ?? 'unknown'
    if (err instanceof HttpError) {
      if (err.headers) for (const [name, value] of Object.entries(err.headers)) c.header(name, value)
      return c.json(errorBody(err.code, err.message, requestId, err.details), err.status as 400)
    }
    if (err instanceof HTTPException) {
      const status = err.status
      const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request')
      return c.json(errorBody(code, err.message || code.replaceAll('_', ' '), requestId), status)
    }
    ;(c.get('logger') ?? logger).error({ err: { message: err.message, stack: err.stack } }, 'unhandled error')
    return c.json(errorBody('internal_error', 'Internal error', requestId), 500)
  }

export const notFound = (c: Context<BridgeEnv>) =>
  c.json(
    errorBody('not_found', `No route for ${c.req.method} ${c.req.path}`, c.get('requestId') ?? 'unknown'),
    404,
  )
