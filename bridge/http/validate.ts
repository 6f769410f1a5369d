import { sValidator } from '@hono/standard-validator'
import type { Context, MiddlewareHandler } from 'hono'
import { validator } from 'hono/validator'
import * as v from 'valibot'
import { parseJsonText, readBodyText, requireJsonContentType } from '../../shared/http/read-body'
import { HttpError, invalidInput } from '../../shared/http-error'
import { declareInput } from '../../shared/openapi/describe-route'
import { validateSubject } from '../../shared/subject-validation'

/** The validators' hook: a failed schema is a 400 `invalid_input` naming each field. */
const refuseInvalid = (result: { success: boolean; error?: readonly unknown[] }, _c: Context) => {
  // valibot hands its own issues through Standard Schema, with the kind and expectation the messages use
  if (!result.success) throw invalidInput((result.error ?? []) as readonly v.BaseIssue<unknown>[])
}

/**
 * A JSON body validated by `schema` (`c.req.valid('json')`). First read within `limit` bytes:
 * 415 for another media type, 413 when larger, 400 `malformed_json` when empty, not UTF-8 or not
 * JSON. The text is left in Hono's body cache, where the validator reads it.
 */
export const jsonBody = <S extends v.GenericSchema>(schema: S, limit: number) => {
  const validate = sValidator('json', schema, refuseInvalid)
  const middleware = (async (c, next) => {
    requireJsonContentType(c.req.header('content-type'))
    const text = await readBodyText(c.req.raw, limit, { trustContentLength: true })
    if (text === '') throw new HttpError(400, 'malformed_json', 'The request body is empty')
    parseJsonText(text)
    // Hono's typings give the cached values, its runtime keeps promises of them
    ;(c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text)
    return validate(c, next)
  }) as typeof validate satisfies MiddlewareHandler
  return declareInput(middleware, { body: schema })
}

/**
 * The query string validated by `schema` (`c.req.valid('query')`), each parameter's first value;
 * issues are named `query.<parameter>`.
 */
export const queryInput = <S extends v.GenericSchema & { entries: v.ObjectEntries }>(schema: S) =>
  declareInput(
    validator('query', (_value, c): v.InferOutput<S> => {
      const parsed = v.safeParse(schema, c.req.query())
      if (!parsed.success) throw invalidInput(parsed.issues, 'query')
      return parsed.output
    }),
    { query: schema },
  )

/** The `:subject` path parameter: a NATS subject without wildcards, else 400 `invalid_subject`. */
export const subjectParam = validator('param', (value: Record<string, string>) => {
  const checked = validateSubject(value.subject ?? '', { wildcards: false })
  if (!checked.ok) {
    throw new HttpError(400, 'invalid_subject', `The subject is not valid: ${checked.reason}`, {
      reason: checked.reason,
    })
  }
  return { subject: checked.subject }
})
