import type { Context } from 'hono'
import * as v from 'valibot'
import { HttpError, invalidInput } from '../../shared/http-error'
import type { HonoEnv } from '../env'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i

const readLimited = async (c: Context<HonoEnv>, limit: number): Promise<string> => {
  const tooLarge = () =>
    new HttpError(413, 'payload_too_large', `The request body may be at most ${limit} bytes`, {
      max_bytes: limit,
    })
  const declared = c.req.header('content-length')
  if (declared !== undefined && Number(declared) > limit) throw tooLarge()
  const body = c.req.raw.body
  if (!body) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw new HttpError(400, 'malformed_json', 'The request body is not valid UTF-8')
  }
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
  const text = await readLimited(c, c.var.config.MAX_BODY_BYTES)
  let value: unknown
  if (text.trim() === '') {
    if (!options.allowEmpty) {
      throw new HttpError(400, 'invalid_input', 'The request is not valid', [
        { path: '(root)', message: 'a JSON body is required' },
      ])
    }
    value = {}
  } else {
    const type = c.req.header('content-type')
    if (!type || !JSON_TYPE.test(type)) {
      throw new HttpError(415, 'unsupported_media_type', 'The request body must be application/json')
    }
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new HttpError(400, 'malformed_json', 'The request body is not valid JSON', {
        reason: err instanceof Error ? err.message : 'unparseable',
      })
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_input', 'The request is not valid', [
      { path: '(root)', message: 'must be a JSON object' },
    ])
  }
  const result = v.safeParse(schema, value)
  if (!result.success) throw invalidInput(result.issues)
  return result.output
}
