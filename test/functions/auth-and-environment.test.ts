import { describe, expect, it } from 'vitest'
import { TEST_API_KEYS } from './support/api-keys'
import { call, uniqueName } from './support/call'
import { query } from './support/database'

describe('API keys', () => {
  it('401 without a key or with an unknown one, on reads and writes', async () => {
    for (const key of [null, 'lib_not_a_key_0000000000000000', `${TEST_API_KEYS.writer.key}x`]) {
      for (const [path, method] of [
        ['/api/v1/entities', 'GET'],
        ['/api/v1/deployments', 'POST'],
      ] as const) {
        const res = await call(path, { method, key, json: method === 'POST' ? {} : undefined })
        expect(res.status, `${method} ${path} with ${key}`).toBe(401)
        expect(res.body.error.code).toBe('unauthorized')
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      }
    }
    const malformed = await call('/api/v1/entities', { key: null, headers: { authorization: 'Basic abc' } })
    expect(malformed.status).toBe(401)
  })

  it('a read-only key reads but gets 403 on writes, and nothing is written', async () => {
    const name = uniqueName('readonly')
    const reader = TEST_API_KEYS.reader.key
    expect((await call('/api/v1/entities?limit=1', { key: reader })).status).toBe(200)
    const res = await call('/api/v1/entities', {
      key: reader,
      json: { name, type: 'strategy', version: '1.0.0' },
    })
    expect(res.status).toBe(403)
    expect(res.body.error).toMatchObject({ code: 'forbidden', details: { required_scope: 'write' } })
    const rows = await query('select 1 from entities where name = $1', [name])
    expect(rows).toHaveLength(0)
  })

  it('records the key name, never the key, as the actor', async () => {
    const res = await call('/api/v1/entities', {
      json: { name: uniqueName('actor'), type: 'indicator', version: '1.0.0' },
    })
    expect(res.status).toBe(201)
    expect(res.body.created_by).toBe(TEST_API_KEYS.writer.name)
    const [row] = await query<{ payload: { metadata: Record<string, unknown> } }>(
      'select payload from outbox where entity_key = $1',
      [res.body.id],
    )
    expect(row!.payload.metadata.actor).toBe(TEST_API_KEYS.writer.name)
    expect(JSON.stringify(row!.payload)).not.toContain(TEST_API_KEYS.writer.key)
  })

  it('health endpoints need no key', async () => {
    expect((await call('/health', { key: null })).status).toBe(200)
    expect((await call('/health/detailed', { key: null })).status).toBe(200)
  })
})

describe('bindings', () => {
  it('a missing or invalid binding is a 500 bad_environment naming it', async () => {
    const missing = await call('/api/v1/entities', { env: { DATABASE_URL: undefined } })
    expect(missing.status).toBe(500)
    expect(missing.body.error.code).toBe('bad_environment')
    expect(missing.body.error.details).toEqual([{ binding: 'DATABASE_URL', message: 'is not set' }])

    const invalid = await call('/api/v1/entities', { env: { API_KEYS: '[{"name":"x"}' } })
    expect(invalid.status).toBe(500)
    expect(invalid.body.error.details.map((d: { binding: string }) => d.binding)).toEqual(['API_KEYS'])

    const credentials = await call('/api/v1/entities', {
      env: { BRIDGE_URL: 'https://user:hunter2@bad host' },
    })
    expect(credentials.body.error.details).toEqual([{ binding: 'BRIDGE_URL', message: 'must be a URL' }])
    expect(JSON.stringify(credentials.body)).not.toContain('hunter2')

    const limit = await call('/api/v1/entities', { env: { MAX_BODY_BYTES: 'lots' } })
    expect(limit.body.error.details.map((d: { binding: string }) => d.binding)).toEqual(['MAX_BODY_BYTES'])

    const health = await call('/health/detailed', { key: null, env: { BRIDGE_URL: 'nope' } })
    expect(health.status).toBe(200)
    expect(health.body).toEqual({
      status: 'degraded',
      environment: { status: 'invalid', bindings: ['BRIDGE_URL'] },
    })
  })
})
