import { describe, expect, it } from 'vitest'
import { call, uniqueName } from './support/call'
import { query } from './support/database'
import { healthPayload, sendWebhook } from './support/webhooks'

/** `{"a": {"a": … 1}}` nesting `levels` levels, built as text (JSON.stringify would recurse). */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`

const entityBody = (name: string, field: 'config' | 'metadata', levels: number) =>
  `{"name":"${name}","type":"strategy","version":"1.0.0","${field}":${nested(levels)}}`

const JSON_TYPE = { 'content-type': 'application/json' }

const rowsNamed = async (name: string) => query('select 1 from entities where name = $1', [name])

describe('JSON depth', () => {
  it('entity config and metadata nest at most 32 levels; deeper is a 400 naming the field and writes nothing', async () => {
    for (const [field, levels] of [
      ['config', 33],
      ['metadata', 1_100],
      ['config', 10_000],
    ] as const) {
      const name = uniqueName('deep')
      const res = await call('/api/v1/entities', {
        body: entityBody(name, field, levels),
        headers: JSON_TYPE,
      })
      expect({ field, levels, status: res.status }).toEqual({ field, levels, status: 400 })
      expect(res.body.error).toMatchObject({
        code: 'json_too_deep',
        details: [{ path: field, message: 'nests deeper than 32 levels' }],
      })
      expect(await rowsNamed(name)).toHaveLength(0)
    }
    const name = uniqueName('deep-ok')
    const ok = await call('/api/v1/entities', { body: entityBody(name, 'config', 32), headers: JSON_TYPE })
    expect(ok.status).toBe(201)
  })

  it('a signed inbound webhook whose data nests deeper than the limit is a 400 naming data', async () => {
    const payload = JSON.stringify(healthPayload('health.degraded', uniqueName('deep-component'))).replace(
      /"data":\{/,
      `"data":{"deep":${nested(40)},`,
    )
    const res = await sendWebhook('monitor', payload)
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'json_too_deep', details: [{ path: 'data' }] })
  })

  it('MAX_JSON_DEPTH sets the limit; an invalid value is a bad_environment naming it', async () => {
    const name = uniqueName('deep-config')
    const res = await call('/api/v1/entities', {
      body: entityBody(name, 'config', 5),
      headers: JSON_TYPE,
      env: { MAX_JSON_DEPTH: '4' },
    })
    expect(res.body.error).toMatchObject({ code: 'json_too_deep', details: [{ path: 'config' }] })
    const bad = await call('/api/v1/entities', {
      body: entityBody(name, 'config', 1),
      env: { MAX_JSON_DEPTH: 'deep' },
    })
    expect(bad.status).toBe(500)
    expect(bad.body.error.details.map((d: { binding: string }) => d.binding)).toEqual(['MAX_JSON_DEPTH'])
  })
})

describe('configuration errors never show the value', () => {
  const SECRET = 'lib_plaintext_key_do_not_show_4711'
  const WHSEC = 'whsec_c2VjcmV0LXZhbHVlLW5vdC10by1zaG93'
  const HASH = 'a'.repeat(64)

  it.each([
    ['API_KEYS', `[{"name":"k","sha256":"${HASH}","scopes":["${SECRET}"]}]`, SECRET],
    ['API_KEYS', `[{"name":"k","sha256":"${HASH}","scopes":["read"],"key":"${SECRET}"}]`, SECRET],
    ['API_KEYS', `[{"name":"${SECRET}!","sha256":"${HASH}","scopes":["read"]}]`, SECRET],
    ['API_KEYS', `["${SECRET}"]`, SECRET],
    ['WEBHOOK_SOURCES', `{"github":{"secrets":"${WHSEC}","allow":["*"]}}`, 'c2VjcmV0'],
    ['WEBHOOK_SOURCES', `{"github":{"secrets":["${WHSEC}"],"allow":["${WHSEC}"]}}`, 'c2VjcmV0'],
    ['WEBHOOK_SOURCES', `{"${WHSEC}":{"secrets":["${WHSEC}"],"allow":["*"]}}`, 'c2VjcmV0'],
    ['WEBHOOK_SOURCES', `{"github":{"secrets":[1234567890123456],"allow":["*"]}}`, '1234567890'],
  ])('%s: %s', async (binding, value, secret) => {
    const res = await call('/api/v1/entities', { env: { [binding]: value } })
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe('bad_environment')
    expect(res.body.error.details.map((d: { binding: string }) => d.binding)).toEqual([binding])
    expect(res.body.error.details[0].message).not.toBe('')
    expect(JSON.stringify(res.body)).not.toContain(secret)
  })
})
