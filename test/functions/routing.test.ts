import { describe, expect, it } from 'vitest'
import { call } from './support/call'

describe('paths and methods without a handler', () => {
  it('a known path with another method is a 405 with Allow', async () => {
    const res = await call('/api/v1/entities', { method: 'PUT', json: { name: 'x' } })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST')
    expect(res.body.error).toMatchObject({
      code: 'method_not_allowed',
      message: 'PUT is not allowed on /api/v1/entities; allowed: GET, HEAD, POST',
      request_id: expect.any(String),
      details: { method: 'PUT', allowed: ['GET', 'HEAD', 'POST'] },
    })

    const one = await call('/api/v1/entities/6f1c2a52-5b5e-4d8b-9a3e-0b8f7f1f4c11', { method: 'PUT' })
    expect(one.status).toBe(405)
    expect(one.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH')

    const webhook = await call('/webhooks/dev', { key: null })
    expect(webhook.status).toBe(405)
    expect(webhook.headers.get('allow')).toBe('POST')
  })

  it('still asks for credentials first on authenticated paths', async () => {
    const res = await call('/api/v1/entities', { method: 'PUT', key: null })
    expect(res.status).toBe(401)
  })

  it('an unknown path is a 404 that names it', async () => {
    const res = await call('/api/v1/nothing-here')
    expect(res.status).toBe(404)
    expect(res.headers.get('allow')).toBeNull()
    expect(res.body.error).toMatchObject({
      code: 'not_found',
      message: 'No route GET /api/v1/nothing-here',
      details: { path: '/api/v1/nothing-here' },
    })
    const long = await call(`/${'x'.repeat(500)}`, { method: 'DELETE', key: null })
    expect(long.status).toBe(404)
    expect(long.body.error.message).toBe(`No route DELETE /${'x'.repeat(199)}…`)
  })
})

describe('validation messages', () => {
  it('name the field at fault in words', async () => {
    const res = await call('/api/v1/swaps', {
      json: {
        from_entity_id: '6f1c2a52-5b5e-4d8b-9a3e-0b8f7f1f4c11',
        to_entity_id: '7f1c2a52-5b5e-4d8b-9a3e-0b8f7f1f4c12',
        initiated_by: 'routing-test',
      },
    })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({
      code: 'invalid_input',
      message: 'The request is not valid: reason is required',
      details: [{ path: 'reason', message: 'reason is required' }],
    })

    const typed = await call('/api/v1/entities', {
      json: { name: 'routing-test', type: 'widget', version: '1.0.0', colour: 'red' },
    })
    expect(typed.status).toBe(400)
    const messages = (typed.body.error.details as Array<{ message: string }>).map((d) => d.message)
    expect(messages).toContain('colour is not a known field')
    expect(messages.some((m) => m.startsWith('type must be "strategy" | "model"'))).toBe(true)
  })
})

describe('X-Request-Id', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

  it.each(['req-1', 'trace.span:42', 'a'.repeat(128)])(
    'keeps a given id of letters, digits, _ . : - (%s)',
    async (id) => {
      const res = await call('/api/v1/nothing-here', { headers: { 'x-request-id': id } })
      expect(res.headers.get('x-request-id')).toBe(id)
      expect(res.body.error.request_id).toBe(id)
    },
  )

  it.each(['abc=', 'a b', 'a'.repeat(129), ''])('replaces any other id with a UUID (%j)', async (id) => {
    const res = await call('/api/v1/nothing-here', { headers: { 'x-request-id': id } })
    const given = res.headers.get('x-request-id')
    expect(given).toMatch(UUID)
    expect(res.body.error.request_id).toBe(given)
  })

  it('names the request in an error raised by a domain rule', async () => {
    const res = await call('/api/v1/swaps', {
      json: {
        from_entity_id: crypto.randomUUID(),
        to_entity_id: crypto.randomUUID(),
        reason: 'r',
        initiated_by: 'ops',
      },
      headers: { 'x-request-id': 'swap-req-7' },
    })
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toBe('swap-req-7')
    expect(res.body.error).toMatchObject({ code: 'entity_not_found', request_id: 'swap-req-7' })
  })
})
