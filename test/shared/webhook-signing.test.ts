import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
} from '../../shared/webhook-signing'

// Published vector from the Standard Webhooks reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}

const vectorHeaders = () => ({
  'webhook-id': VECTOR.id,
  'webhook-timestamp': String(VECTOR.timestamp),
  'webhook-signature': VECTOR.signature,
})

const verifyVector = (overrides: Partial<Parameters<typeof verifyWebhook>[0]> = {}) =>
  verifyWebhook({
    secrets: [VECTOR.secret],
    headers: vectorHeaders(),
    body: VECTOR.body,
    now: VECTOR.timestamp,
    ...overrides,
  })

describe('signWebhook', () => {
  it('reproduces the published signature', async () => {
    expect(
      await signWebhook({
        secret: VECTOR.secret,
        id: VECTOR.id,
        timestamp: VECTOR.timestamp,
        body: VECTOR.body,
      }),
    ).toBe(VECTOR.signature)
  })

  it('accepts the secret without its whsec_ prefix', async () => {
    const bare = VECTOR.secret.slice('whsec_'.length)
    expect(await signWebhook({ ...VECTOR, secret: bare })).toBe(VECTOR.signature)
  })

  it('rejects a secret that is not base64', async () => {
    await expect(signWebhook({ ...VECTOR, secret: 'whsec_not base64!' })).rejects.toThrow(TypeError)
    await expect(signWebhook({ ...VECTOR, secret: 'whsec_' })).rejects.toThrow(TypeError)
  })

  it('signs non-ASCII bodies as UTF-8', async () => {
    const body = '{"name":"stratégie ✓"}'
    const signature = await signWebhook({ ...VECTOR, body })
    expect(signature).toBe(
      new Webhook(VECTOR.secret).sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), body),
    )
  })
})

describe('generateWebhookSecret', () => {
  it('is whsec_ plus base64 of 32 random bytes, different each time', () => {
    const a = generateWebhookSecret()
    const b = generateWebhookSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(atob(a.slice(6))).toHaveLength(32)
    expect(a).not.toBe(b)
  })

  it('produces secrets the reference library accepts', async () => {
    const secret = generateWebhookSecret()
    const body = '{"event_type":"entity.registered"}'
    const headers = await webhookHeaders({ secret, id: 'msg_1', body })
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow()
  })
})

describe('webhookHeaders', () => {
  it('returns the three headers for the given timestamp', async () => {
    expect(await webhookHeaders(VECTOR)).toEqual(vectorHeaders())
  })

  it('defaults the timestamp to now, in seconds', async () => {
    const before = Math.floor(Date.now() / 1000)
    const headers = await webhookHeaders({ secret: VECTOR.secret, id: VECTOR.id, body: VECTOR.body })
    const after = Math.floor(Date.now() / 1000)
    const timestamp = Number(headers['webhook-timestamp'])
    expect(timestamp).toBeGreaterThanOrEqual(before)
    expect(timestamp).toBeLessThanOrEqual(after)
  })
})

describe('verifyWebhook', () => {
  it('accepts the published vector and returns id and timestamp', async () => {
    expect(await verifyVector()).toEqual({ ok: true, id: VECTOR.id, timestamp: VECTOR.timestamp })
  })

  it('reads a Headers object, case-insensitively', async () => {
    const headers = new Headers({
      'Webhook-Id': VECTOR.id,
      'Webhook-Timestamp': String(VECTOR.timestamp),
      'Webhook-Signature': VECTOR.signature,
    })
    expect((await verifyVector({ headers })).ok).toBe(true)
  })

  it('reads a plain record with mixed-case keys', async () => {
    const headers = {
      'WEBHOOK-ID': VECTOR.id,
      'Webhook-Timestamp': String(VECTOR.timestamp),
      'webhook-Signature': VECTOR.signature,
    }
    expect((await verifyVector({ headers })).ok).toBe(true)
  })

  it('accepts any of several signatures, skipping other versions and junk', async () => {
    const headers = {
      ...vectorHeaders(),
      'webhook-signature': [
        'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
        'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
        'garbage',
        'v1,%%%',
        VECTOR.signature,
      ].join(' '),
    }
    expect((await verifyVector({ headers })).ok).toBe(true)
  })

  it('rejects a valid signature offered under another version tag', async () => {
    const headers = { ...vectorHeaders(), 'webhook-signature': VECTOR.signature.replace('v1,', 'v1a,') }
    expect(await verifyVector({ headers })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('accepts the old or the new secret during a rotation', async () => {
    const fresh = generateWebhookSecret()
    expect((await verifyVector({ secrets: [fresh, VECTOR.secret] })).ok).toBe(true)
    expect((await verifyVector({ secrets: [VECTOR.secret, fresh] })).ok).toBe(true)
    const signedWithFresh = await webhookHeaders({ ...VECTOR, secret: fresh })
    expect((await verifyVector({ secrets: [VECTOR.secret, fresh], headers: signedWithFresh })).ok).toBe(true)
  })

  it('rejects a wrong secret and an empty secret list', async () => {
    expect(await verifyVector({ secrets: [generateWebhookSecret()] })).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    })
    expect(await verifyVector({ secrets: [] })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it.each([
    ['body', { body: '{"test": 2432232315}' }],
    ['body with trailing newline', { body: `${VECTOR.body}\n` }],
    ['id', { headers: { ...vectorHeaders(), 'webhook-id': 'msg_other' } }],
    ['timestamp', { headers: { ...vectorHeaders(), 'webhook-timestamp': String(VECTOR.timestamp + 1) } }],
    [
      'signature',
      {
        headers: {
          ...vectorHeaders(),
          'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=',
        },
      },
    ],
    [
      'truncated signature',
      { headers: { ...vectorHeaders(), 'webhook-signature': VECTOR.signature.slice(0, 8) } },
    ],
    ['empty v1 signature', { headers: { ...vectorHeaders(), 'webhook-signature': 'v1,' } }],
  ])('rejects a tampered %s', async (_, overrides) => {
    const result = await verifyVector(overrides)
    expect(result).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it.each([
    ['299 s old', -299, true, undefined],
    ['300 s old', -300, true, undefined],
    ['301 s old', -301, false, 'stale_timestamp'],
    ['299 s ahead', 299, true, undefined],
    ['300 s ahead', 300, true, undefined],
    ['301 s ahead', 301, false, 'future_timestamp'],
  ] as const)('with a message %s: ok=%s', async (_, offset, ok, reason) => {
    const timestamp = VECTOR.timestamp + offset
    const headers = await webhookHeaders({ ...VECTOR, timestamp })
    const result = await verifyVector({ headers })
    expect(result.ok).toBe(ok)
    if (!result.ok) expect(result.reason).toBe(reason)
  })

  it('honours a custom tolerance', async () => {
    expect(await verifyVector({ now: VECTOR.timestamp + 11, toleranceSeconds: 10 })).toMatchObject({
      ok: false,
      reason: 'stale_timestamp',
    })
    expect((await verifyVector({ now: VECTOR.timestamp + 10, toleranceSeconds: 10 })).ok).toBe(true)
  })

  it('checks the timestamp against the real clock by default', async () => {
    expect(
      await verifyWebhook({ secrets: [VECTOR.secret], headers: vectorHeaders(), body: VECTOR.body }),
    ).toMatchObject({ ok: false, reason: 'stale_timestamp' })
    const headers = await webhookHeaders({ secret: VECTOR.secret, id: VECTOR.id, body: VECTOR.body })
    expect((await verifyWebhook({ secrets: [VECTOR.secret], headers, body: VECTOR.body })).ok).toBe(true)
  })

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)(
    'reports a missing or empty %s header',
    async (name) => {
      const without: Record<string, string | undefined> = vectorHeaders()
      delete without[name]
      const missing = await verifyVector({ headers: without })
      expect(missing).toMatchObject({ ok: false, reason: 'missing_header' })
      if (!missing.ok) expect(missing.message).toContain(name)
      expect(await verifyVector({ headers: { ...vectorHeaders(), [name]: '' } })).toMatchObject({
        ok: false,
        reason: 'missing_header',
      })
      expect(await verifyVector({ headers: { ...vectorHeaders(), [name]: undefined } })).toMatchObject({
        ok: false,
        reason: 'missing_header',
      })
    },
  )

  it.each(['hello', '1614265330.5', '-1614265330', ' 1614265330', '1e9', '0x60375db2', '9999999999999999'])(
    'rejects the timestamp %j as bad_timestamp',
    async (timestamp) => {
      const headers = { ...vectorHeaders(), 'webhook-timestamp': timestamp }
      expect(await verifyVector({ headers })).toMatchObject({ ok: false, reason: 'bad_timestamp' })
    },
  )
})

describe('interoperability with the standardwebhooks library', () => {
  it('the library verifies what signWebhook produces', async () => {
    const secret = VECTOR.secret
    const body = JSON.stringify({ event_id: crypto.randomUUID(), event_type: 'swap.completed', data: {} })
    const headers = await webhookHeaders({ secret, id: 'msg_interop', body })
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body))
  })

  it('the library rejects a body tampered after signWebhook', async () => {
    const headers = await webhookHeaders({ secret: VECTOR.secret, id: 'msg_interop', body: '{"a":1}' })
    expect(() => new Webhook(VECTOR.secret).verify('{"a":2}', { ...headers })).toThrow()
  })

  it('verifyWebhook accepts what the library signs', async () => {
    const timestamp = Math.floor(Date.now() / 1000)
    const body = '{"hello":"world"}'
    const signature = new Webhook(VECTOR.secret).sign('msg_lib', new Date(timestamp * 1000), body)
    const headers = {
      'webhook-id': 'msg_lib',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    }
    expect(await verifyWebhook({ secrets: [VECTOR.secret], headers, body })).toEqual({
      ok: true,
      id: 'msg_lib',
      timestamp,
    })
  })
})
