import { describe, expect, it } from 'vitest'
import { readBodyText, readJson } from '../../shared/http/read-body'
import { HttpError } from '../../shared/http-error'

const post = (body: RequestInit['body'], headers: Record<string, string> = {}) =>
  new Request('http://local/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)

const chunked = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
      controller.close()
    },
  })

const refusal = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof HttpError)) throw new Error(`expected an HttpError, got ${String(err)}`)
  return { status: err.status, code: err.code }
}

describe('readBodyText', () => {
  it('reads a body split over chunks as one text', async () => {
    expect(await readBodyText(post(chunked('{"a":', '"é"}')), 100)).toBe('{"a":"é"}')
  })

  it('refuses a chunked body once it grows past the limit (no Content-Length)', async () => {
    expect(await refusal(readBodyText(post(chunked('12345', '67890')), 8))).toEqual({
      status: 413,
      code: 'payload_too_large',
    })
  })

  it('refuses a declared Content-Length above the limit before reading', async () => {
    expect(await refusal(readBodyText(post('x', { 'content-length': '9' }), 8))).toMatchObject({
      status: 413,
    })
  })

  it('refuses bytes that are not UTF-8 as malformed_json', async () => {
    expect(await refusal(readBodyText(post(new Uint8Array([0x7b, 0xff, 0x7d])), 100))).toEqual({
      status: 400,
      code: 'malformed_json',
    })
  })

  it('reads no body as the empty text', async () => {
    expect(await readBodyText(new Request('http://local/x'), 10)).toBe('')
  })
})

describe('readJson', () => {
  it('parses an application/json or +json body', async () => {
    expect(
      await readJson(post('{"a":1}', { 'content-type': 'application/json; charset=utf-8' }), 100),
    ).toEqual({
      a: 1,
    })
    expect(await readJson(post('[1]', { 'content-type': 'application/cloudevents+json' }), 100)).toEqual([1])
  })

  it('refuses another media type with 415 before reading', async () => {
    for (const type of ['text/plain', 'application/a+b+json', 'application/jsonx']) {
      expect(await refusal(readJson(post('{}', { 'content-type': type }), 100))).toEqual({
        status: 415,
        code: 'unsupported_media_type',
      })
    }
  })

  it('refuses an empty or unparseable body with malformed_json', async () => {
    const json = { 'content-type': 'application/json' }
    expect(await refusal(readJson(post('', json), 100))).toEqual({ status: 400, code: 'malformed_json' })
    expect(await refusal(readJson(post('{"a":', json), 100))).toEqual({ status: 400, code: 'malformed_json' })
  })
})
