import type { Context } from 'hono'
import * as v from 'valibot'
import { parseJsonText, readBodyText, requireJsonContentType } from '../../shared/http/read-body'
import { HttpError, invalidInput } from '../../shared/http-error'
import { findTooDeep } from '../../shared/json-depth'
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

/**
 * Reads a JSON body within the configured size limit and validates it.
 * `allowEmpty` treats a missing body as `{}` (for actions whose body is optional).
 */
export const parseJsonBody = async <T extends v.GenericSchema>(
  c: Context<HonoEnv>,
  schema: T,
  options: { allowEmpty?: boolean } = {},
): Promise<v.InferOutput<T>> => {
  const text = await readBodyText(c.req.raw, c.var.config.MAX_BODY_BYTES)
  let value: unknown
  if (text.trim() === '') {
    if (!options.allowEmpty) {
      throw new HttpError(400, 'invalid_input', 'The request is not valid', [
        { path: '(root)', message: 'a JSON body is required' },
      ])
    }
    value = {}
  } else {
    requireJsonContentType(c.req.header('content-type'))
    value = parseJsonText(text)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_input', 'The request is not valid', [
      { path: '(root)', message: 'must be a JSON object' },
    ])
  }
  refuseTooDeep(value, c.var.config.MAX_JSON_DEPTH)
  const result = v.safeParse(schema, value)
  if (!result.success) throw invalidInput(result.issues)
  return result.output
}
