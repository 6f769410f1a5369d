import { HttpError } from '../../shared/http-error'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i

export const isJsonContentType = (contentType: string | undefined): boolean =>
  JSON_MEDIA_TYPE.test(contentType?.split(';')[0]?.trim() ?? '')

export const requireJsonContentType = (contentType: string | undefined): void => {
  if (!isJsonContentType(contentType)) {
    throw new HttpError(415, 'unsupported_media_type', 'The request body must be application/json', {
      content_type: contentType ?? null,
    })
  }
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The request body may be at most ${limit} bytes`, {
    max_bytes: limit,
  })

/**
 * Reads the raw body as UTF-8 and stops at `limit` bytes whatever Content-Length claims (chunked
 * bodies have none). Raw text, because a webhook signature covers the exact bytes.
 */
export const readBodyText = async (request: Request, limit: number): Promise<string> => {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) throw tooLarge(limit)
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw tooLarge(limit)
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
