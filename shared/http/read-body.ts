import { HttpError } from '../http-error'

/** The media types Hono's json validator reads (one `+` suffix), so an accepted body is never read as `{}`. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i

export const isJsonContentType = (contentType: string | undefined | null): boolean =>
  JSON_MEDIA_TYPE.test(contentType?.split(';')[0]?.trim() ?? '')

/** 415 unless the media type is `application/json` or `application/…+json`. */
export const requireJsonContentType = (contentType: string | undefined | null): void => {
  if (!isJsonContentType(contentType)) {
    throw new HttpError(415, 'unsupported_media_type', 'The request body must be application/json', {
      content_type: contentType?.slice(0, 100) || null,
    })
  }
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The request body may be at most ${limit} bytes`, {
    max_bytes: limit,
  })

export interface ReadBodyOptions {
  /**
   * Read a body with a numeric Content-Length whole instead of chunk by chunk. Only where the
   * server never delivers more than the declared length (Node's HTTP parser); a Worker's Request
   * may come from code that sets any header, so it reads the stream.
   */
  trustContentLength?: boolean
}

/**
 * The raw body bytes, refused (413) once they grow beyond `limit` whatever Content-Length claims
 * (chunked bodies have none). Web APIs only, so it runs in Workers and Node alike.
 */
export const readBodyBytes = async (
  request: Request,
  limit: number,
  options: ReadBodyOptions = {},
): Promise<Uint8Array> => {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (options.trustContentLength && declared !== null && /^\d+$/.test(declared)) {
    return new Uint8Array(await request.arrayBuffer())
  }
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** Bytes as UTF-8 text; invalid UTF-8 is a 400 `malformed_json`. */
export const decodeUtf8 = (bytes: Uint8Array): string => {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new HttpError(400, 'malformed_json', 'The request body is not valid UTF-8')
  }
}

/**
 * The body as UTF-8 text within `limit` bytes. Raw text, because a webhook signature covers the
 * exact bytes.
 */
export const readBodyText = async (request: Request, limit: number, options?: ReadBodyOptions) =>
  decodeUtf8(await readBodyBytes(request, limit, options))

/** JSON text parsed, or a 400 `malformed_json` with the parser's reason. */
export const parseJsonText = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new HttpError(400, 'malformed_json', 'The request body is not valid JSON', {
      reason: err instanceof Error ? err.message : 'unparseable',
    })
  }
}

/** A JSON body: 415 for another content type, 413 when too large, 400 when empty or not JSON. */
export const readJson = async (
  request: Request,
  limit: number,
  options?: ReadBodyOptions,
): Promise<unknown> => {
  requireJsonContentType(request.headers.get('content-type'))
  const text = await readBodyText(request, limit, options)
  if (text === '') throw new HttpError(400, 'malformed_json', 'The request body is empty')
  return parseJsonText(text)
}
