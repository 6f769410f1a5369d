import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { requestId } from 'hono/request-id'
import { validator } from 'hono/validator'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { type ErrorLogger, type OnErrorOptions, onError, pinoErrorLogger } from '../../shared/http/on-error'
import { readJson } from '../../shared/http/read-body'
import { HttpError, invalidInput } from '../../shared/http-error'

type Env = { Variables: { requestId: string } }

class DatabaseDown extends Error {}

const recorder = () => {
  const lines: { message: string; fields: Record<string, unknown> }[] = []
  const logger: ErrorLogger = { error: (message, fields) => lines.push({ message, fields }) }
  return { lines, logger }
}

const appWith = (options: OnErrorOptions) => {
  const app = new Hono<Env>()
  app.use(requestId())
  app.onError(onError(options))
  app.get('/conflict', () => {
    throw new HttpError(409, 'entity_exists', 'It exists', { name: 'a' }, { 'Retry-After': '5' })
  })
  app.get('/invalid', () => {
    throw invalidInput(v.safeParse(v.object({ name: v.string() }), {}).issues ?? [])
  })
  app.post('/read', async (c) => c.json(await readJson(c.req.raw, 16)))
  app.post('/limited', bodyLimit({ maxSize: 4 }), (c) => c.text('ok'))
  app.post(
    '/validated',
    validator('json', (value) => value),
    (c) => c.text('ok'),
  )
  app.get('/unavailable', () => {
    throw new HttpError(503, 'nats_unavailable', 'NATS is down')
  })
  app.get('/bug', () => {
    throw new TypeError('x is undefined')
  })
  app.get('/database', () => {
    throw new DatabaseDown('connection refused')
  })
  return app
}

const json = (body: string) => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json' },
})

describe('onError', () => {
  it('answers an HttpError with its status, code, details and headers, and the request id', async () => {
    const res = await appWith(recorder()).request('/conflict', { headers: { 'x-request-id': 'req-1' } })
    expect(res.status).toBe(409)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toEqual({
      error: { code: 'entity_exists', message: 'It exists', request_id: 'req-1', details: { name: 'a' } },
    })
  })

  it('answers a failed schema with 400 invalid_input naming the field', async () => {
    const res = await appWith(recorder()).request('/invalid')
    expect(res.status).toBe(400)
    const body = (await res.json()) as { error: { code: string; details: { path: string }[] } }
    expect(body.error.code).toBe('invalid_input')
    expect(body.error.details.map((issue) => issue.path)).toEqual(['name'])
  })

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await appWith(recorder()).request('/read', json('{"a":'))
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('malformed_json')
  })

  it('answers a body over the limit with 413 payload_too_large', async () => {
    const res = await appWith(recorder()).request('/read', json(`{"a":"${'x'.repeat(20)}"}`))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({
      error: { code: 'payload_too_large', details: { max_bytes: 16 } },
    })
  })

  it("maps Hono's own exceptions by status", async () => {
    const app = appWith(recorder())
    const limited = await app.request('/limited', { method: 'POST', body: 'too long' })
    expect(limited.status).toBe(413)
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('payload_too_large')
    const unparsed = await app.request('/validated', json('{'))
    expect(unparsed.status).toBe(400)
    expect(await unparsed.json()).toMatchObject({
      error: { code: 'bad_request', message: 'Malformed JSON in request body' },
    })
  })

  it('answers anything else with a 500 internal_error and logs its message and stack', async () => {
    const { lines, logger } = recorder()
    const res = await appWith({ logger }).request('/bug', { headers: { 'x-request-id': 'req-2' } })
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({
      error: { code: 'internal_error', message: 'Internal server error', request_id: 'req-2' },
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]?.message).toBe('unhandled error')
    expect(lines[0]?.fields).toMatchObject({ request_id: 'req-2', error: 'x is undefined' })
    expect(String(lines[0]?.fields.stack)).toContain('TypeError')
  })

  it('logs an HttpError of 500 or more only when asked to', async () => {
    const quiet = recorder()
    expect((await appWith({ logger: quiet.logger }).request('/unavailable')).status).toBe(503)
    expect(quiet.lines).toEqual([])

    const loud = recorder()
    const res = await appWith({ logger: loud.logger, logServerErrors: true }).request('/unavailable', {
      headers: { 'x-request-id': 'req-3' },
    })
    expect(res.status).toBe(503)
    expect(loud.lines).toEqual([
      { message: 'NATS is down', fields: { code: 'nats_unavailable', request_id: 'req-3' } },
    ])
  })

  it("answers an app's own error type through toHttpError", async () => {
    const toHttpError = (err: Error) =>
      err instanceof DatabaseDown ? new HttpError(503, 'database_unavailable', 'Retry later') : err
    const { lines, logger } = recorder()
    const app = appWith({ logger, toHttpError })
    const res = await app.request('/database')
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('database_unavailable')
    expect((await app.request('/bug')).status).toBe(500)
    expect(lines.map((line) => line.message)).toEqual(['unhandled error'])
  })

  it('writes to pino with the fields first', () => {
    const calls: unknown[][] = []
    pinoErrorLogger({ error: (...args) => calls.push(args) }).error('unhandled error', { request_id: 'r' })
    expect(calls).toEqual([[{ request_id: 'r' }, 'unhandled error']])
  })
})
