import { sValidator } from '@hono/standard-validator'
import type { Context, MiddlewareHandler } from 'hono'
import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { parseJsonText, readBodyText, requireJsonContentType } from '../../shared/http/read-body'
import { HttpError, invalidInput } from '../../shared/http-error'
import { findTooDeep } from '../../shared/json-depth'
import { declareInput } from '../../shared/openapi/describe-route'
import type { HonoEnv } from '../env'

/**
 * Free-form fields (entity `config`, `metadata`, …) may nest at most `max` levels: deeper values
 * become events that consumers in other languages cannot parse (Python's json raises
 * RecursionError). Names the top-level field that holds the deep value.
 */
export const refuseTooDeep = (body: unknown, max: number): void => {
  const path = findTooDeep(body, max + 1)
  if (path === undefined) return
  const field = String(path[0] ?? '(root)')
  throw new HttpError(400, 'json_too_deep', `${field} nests deeper than ${max} levels`, [
    { path: field, message: `nests deeper than ${max} levels` },
  ])
}

/** The validators' hook: a failed schema is the same 400 `invalid_input` whatever the target. */
const refuseInvalid = (result: { success: boolean; error?: readonly unknown[] }, _c: Context<HonoEnv>) => {
  // valibot hands its own issues through Standard Schema, with the kind and expectation the messages use
  if (!result.success) throw invalidInput((result.error ?? []) as readonly v.BaseIssue<unknown>[])
}

const notAnObject = (message: string) =>
  new HttpError(400, 'invalid_input', 'The request is not valid', [{ path: '(root)', message }])

// Hono's typings give the cached values, its runtime keeps promises of them
const cacheText = (c: Context<HonoEnv>, text: string) => {
  ;(c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text)
}

/**
 * Reads the body within MAX_BODY_BYTES before the validator sees it: 413 when larger, 400
 * `malformed_json` for bad UTF-8 or JSON, 415 for another media type, 400 `json_too_deep`, and a
 * body that is not an object is `invalid_input`. The text is left in Hono's body cache, where the
 * validator reads it. An empty body is `{}` where the body is optional.
 */
const bufferJson = async (c: Context<HonoEnv>, optional: boolean) => {
  const text = await readBodyText(c.req.raw, c.var.config.MAX_BODY_BYTES)
  if (text.trim() === '') {
    if (!optional) throw notAnObject('a JSON body is required')
    cacheText(c, '{}')
    return
  }
  requireJsonContentType(c.req.header('content-type'))
  const value = parseJsonText(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw notAnObject('must be a JSON object')
  refuseTooDeep(value, c.var.config.MAX_JSON_DEPTH)
  cacheText(c, text)
}

const withBufferedBody = <H extends MiddlewareHandler<HonoEnv>>(
  validate: H,
  schema: v.GenericSchema,
  optional: boolean,
): H =>
  declareInput(
    (async (c, next) => {
      await bufferJson(c, optional)
      return validate(c, next)
    }) as H,
    { body: schema, bodyRequired: !optional },
  )

/** A JSON object body validated by `schema`; `c.req.valid('json')` is its output. */
export const jsonBody = <S extends v.GenericSchema>(schema: S) =>
  withBufferedBody(sValidator('json', schema, refuseInvalid), schema, false)

/** Like `jsonBody`, for actions whose body may be left out (read as `{}`). */
export const optionalJsonBody = <S extends v.GenericSchema<object>>(schema: S) =>
  withBufferedBody(sValidator('json', v.optional(schema, {}), refuseInvalid), schema, true)

/** The query string against a strict object schema of strings; a repeated parameter is a 400. */
export const queryInput = <S extends v.GenericSchema & { entries: v.ObjectEntries }>(schema: S) => {
  const validate = sValidator('query', schema, refuseInvalid)
  const checked = (async (c, next) => {
    for (const [key, values] of Object.entries(c.req.queries())) {
      if (values.length > 1) {
        throw new HttpError(400, 'invalid_input', 'The request is not valid', [
          { path: key, message: 'may be given only once' },
        ])
      }
    }
    return validate(c, next)
  }) as typeof validate
  return declareInput(checked, { query: schema })
}

/** The `:id` path parameter, a UUID (lower-cased): a bad one is a 400, never a database error. */
export const idParam = declareInput(
  sValidator('param', v.object({ id: v.pipe(Uuid, v.toLowerCase()) }), refuseInvalid),
  { params: { id: Uuid } },
)
