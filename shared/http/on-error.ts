import type { Context, Env } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ErrorCode, errorBody, HttpError } from '../http-error'

/** What the handler writes to: the functions' `log`, or pino behind `pinoErrorLogger`. */
export interface ErrorLogger {
  error(message: string, fields: Record<string, unknown>): void
}

/** pino takes its fields first. */
export const pinoErrorLogger = (logger: {
  error(fields: Record<string, unknown>, message: string): void
}): ErrorLogger => ({ error: (message, fields) => logger.error(fields, message) })

export interface OnErrorOptions {
  logger: ErrorLogger
  /** Turns what only this app throws into an HttpError; anything else it hands back as it is. */
  toHttpError?: (err: Error) => HttpError | Error
  /**
   * Also log an HttpError answered with 500 or more (with its code). Off where an access log
   * already reports every 5xx response.
   */
  logServerErrors?: boolean
}

/** The codes of Hono's own exceptions (a body limit, a validator that cannot parse the body). */
const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

const fromHttpException = (err: HTTPException): HttpError => {
  const code = HTTP_EXCEPTION_CODES[err.status] ?? (err.status >= 500 ? 'internal_error' : 'bad_request')
  return new HttpError(err.status, code, err.message || code.replaceAll('_', ' '))
}

/**
 * The one place where an error becomes the JSON error body: an HttpError as it is, Hono's
 * HTTPException by its status, anything else a logged 500 `internal_error`.
 */
export const onError = <E extends Env & { Variables: { requestId: string } }>({
  logger,
  toHttpError,
  logServerErrors = false,
}: OnErrorOptions) =>
  function onError(thrown: Error, c: Context<E>): Response {
    const requestId: string = c.get('requestId') ?? 'unknown'
    const mapped = toHttpError ? toHttpError(thrown) : thrown
    const err = mapped instanceof HTTPException ? fromHttpException(mapped) : mapped
    if (err instanceof HttpError) {
      if (logServerErrors && err.status >= 500)
        logger.error(err.message, { code: err.code, request_id: requestId })
      return c.json(
        errorBody(err.code, err.message, requestId, err.details),
        err.status as ContentfulStatusCode,
        err.headers,
      )
    }
    logger.error('unhandled error', { request_id: requestId, error: err.message, stack: err.stack })
    return c.json(errorBody('internal_error', 'Internal server error', requestId), 500)
  }
