import type { Context } from 'hono'
import { HttpError } from '../../shared/http-error'

const tooLarge = (maxBytes: number) =>
  new HttpError(413, 'payload_too_large', `The request body exceeds ${maxBytes} bytes`, {
    max_bytes: maxBytes,
  })

/** Reads the raw body, refusing it as soon as it grows beyond `maxBytes`. */
export const readBody = async (c: Context, maxBytes: number): Promise<Uint8Array> => {
  const declared = c.req.header('content-length')
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes)
  // Node's parser never delivers more than a declared Content-Length, so such a body can be read
  // whole; on @hono/node-server that skips building a web Request, its AbortSignal and stream.
  if (declared !== undefined && /^\d+$/.test(declared)) return new Uint8Array(await c.req.raw.arrayBuffer())
  const body = c.req.raw.body
  if (!body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A JSON body: 415 for another content type, 400 for bytes that are not JSON, 413 when too large. */
export const readJson = async (c: Context, maxBytes: number): Promise<unknown> => {
  const type = c.req.header('content-type') ?? ''
  if (!JSON_TYPE.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json', {
      content_type: type.slice(0, 100) || null,
    })
  }
  const bytes = await readBody(c, maxBytes)
  if (bytes.byteLength === 0) throw new HttpError(400, 'malformed_json', 'The request body is empty')
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    throw new HttpError(400, 'malformed_json', 'The request body is not valid JSON')
  }
}
