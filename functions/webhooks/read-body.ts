import { HttpError } from '../../shared/http-error'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i

export const requireJson = (contentType: string | undefined): void => {
  const mediaType = contentType?.split(';')[0]?.trim() ?? ''
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new HttpError(415, 'unsupported_media_type', 'Webhook bodies must be sent as application/json', {
      content_type: contentType ?? null,
    })
  }
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The body exceeds ${limit} bytes`, { limit_bytes: limit })

/**
 * Reads the raw body (the signature covers the exact bytes) and stops at `limit` bytes, whatever
 * Content-Length claims.
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
    throw new HttpError(400, 'invalid_json', 'The body is not valid UTF-8')
  }
}
