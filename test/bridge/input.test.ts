import { beforeAll, describe, expect, it } from 'vitest'
import { BRIDGE_TEST_TOKENS } from '../support/bridge-process'
import { ADMIN_TOKEN, entityRegistered, healthDegraded, startWiretap } from './support/bridge-client'
import { bridgeOnNats } from './support/bridge-on-nats'

const NARROW_TOKEN = 'narrow-token-0123456789abcdef'
const NONE_TOKEN = BRIDGE_TEST_TOKENS.none.token
const MAX_BODY = 4_096
const MAX_BATCH = 5

const setup = bridgeOnNats({
  tokens: {
    ...BRIDGE_TEST_TOKENS,
    narrow: { token: NARROW_TOKEN, publish: ['library.entity.*'], request: ['svc.allowed'] },
  },
  env: { BRIDGE_MAX_BODY_BYTES: String(MAX_BODY), BRIDGE_MAX_BATCH: String(MAX_BATCH) },
})

beforeAll(async () => {
  setup.nc.subscribe('svc.allowed', { callback: (_err, msg) => msg.respond('{"ok":true}') })
  setup.nc.subscribe('svc.other', { callback: (_err, msg) => msg.respond('{"ok":true}') })
  await setup.nc.flush()
})

interface ErrorResponse {
  error: { code: string; message: string; request_id: string; details?: unknown }
}

const expectError = async (res: Response, status: number, code: string): Promise<ErrorResponse> => {
  const text = await res.text()
  expect({ status: res.status, text }).toMatchObject({ status })
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = JSON.parse(text) as ErrorResponse
  expect(body.error.code).toBe(code)
  expect(body.error.message).toEqual(expect.any(String))
  expect(body.error.request_id).toBe(res.headers.get('x-request-id'))
  expect(text).not.toMatch(/at .+\.ts:\d+/)
  return body
}

const events = (
  body: string | Uint8Array<ArrayBuffer> | null,
  headers: Record<string, string> = {},
  token: string | null = ADMIN_TOKEN,
) =>
  fetch(`${setup.bridge.url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body,
  })

const request = (subject: string, token: string | null = ADMIN_TOKEN, body = '{}') =>
  fetch(`${setup.bridge.url}/v1/request/${subject}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  })

/** Messages other than JetStream API traffic and replies. */
const published = (subjects: string[]) =>
  subjects.filter((s) => !s.startsWith('$') && !s.startsWith('_INBOX.'))

describe('auth matrix', () => {
  it('refuses a missing, malformed or unknown token with 401 and publishes nothing', async () => {
    const tap = await startWiretap(setup.nc)
    const event = JSON.stringify(entityRegistered())
    const missing = await expectError(await events(event, {}, null), 401, 'unauthorized')
    expect(missing.error.message).not.toContain(ADMIN_TOKEN)
    await expectError(
      await events(event, { authorization: `Basic ${ADMIN_TOKEN}` }, null),
      401,
      'invalid_token',
    )
    await expectError(await events(event, {}, 'unknown-token-0123456789abcdef'), 401, 'invalid_token')
    await expectError(await events(event, {}, `${ADMIN_TOKEN}x`), 401, 'invalid_token')
    await expectError(await events(event, {}, ADMIN_TOKEN.slice(0, -1)), 401, 'invalid_token')
    await expectError(await request('svc.allowed', null), 401, 'unauthorized')
    await expectError(await request('svc.allowed', 'unknown-token-0123456789abcdef'), 401, 'invalid_token')
    const unknownRoute = await fetch(`${setup.bridge.url}/v1/anything`)
    expect(unknownRoute.status).toBe(401)
    await tap.stop()
    expect(published(tap.subjects())).toEqual([])
  })

  it('refuses out-of-scope subjects with 403 and publishes nothing', async () => {
    const tap = await startWiretap(setup.nc)
    await expectError(await events(JSON.stringify(entityRegistered()), {}, NONE_TOKEN), 403, 'forbidden')
    await expectError(await events(JSON.stringify(healthDegraded()), {}, NARROW_TOKEN), 403, 'forbidden')
    const mixed = await expectError(
      await events(JSON.stringify({ events: [entityRegistered(), healthDegraded()] }), {}, NARROW_TOKEN),
      403,
      'forbidden',
    )
    expect(mixed.error.details).toMatchObject({ action: 'publish', subjects: ['library.health.degraded'] })
    await expectError(await request('svc.other', NARROW_TOKEN), 403, 'forbidden')
    await expectError(await request('svc.allowed', NONE_TOKEN), 403, 'forbidden')
    await tap.stop()
    expect(published(tap.subjects())).toEqual([])
  })

  it('lets in-scope calls through', async () => {
    const tap = await startWiretap(setup.nc)
    const res = await events(JSON.stringify(entityRegistered()), {}, NARROW_TOKEN)
    expect(res.status).toBe(202)
    const relayed = await request('svc.allowed', NARROW_TOKEN)
    expect(relayed.status).toBe(200)
    expect(await relayed.json()).toEqual({ ok: true })
    await tap.stop()
    expect(published(tap.subjects())).toEqual(['library.entity.registered', 'svc.allowed'])
  })
})

describe('bad input catalog', () => {
  const valid = () => entityRegistered() as unknown as Record<string, unknown>
  const without = (field: string) => {
    const event = valid()
    delete event[field]
    return event
  }
  const withField = (field: string, value: unknown) => ({ ...valid(), [field]: value })

  it('answers every malformed publish with the right 4xx JSON error and publishes nothing', async () => {
    const tap = await startWiretap(setup.nc)

    await expectError(await events('{"event_id": '), 400, 'malformed_json')
    await expectError(await events('not json at all'), 400, 'malformed_json')
    await expectError(await events(''), 400, 'malformed_json')
    await expectError(await events(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 400, 'malformed_json')
    await expectError(
      await events(JSON.stringify(valid()), { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    )
    await expectError(
      await events(JSON.stringify(valid()), { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    )
    for (const body of ['[]', '"event"', '42', 'null', 'true']) {
      await expectError(await events(body), 400, 'invalid_input')
    }

    for (const field of [
      'event_id',
      'event_type',
      'timestamp',
      'source',
      'entity_id',
      'entity_name',
      'entity_type',
      'version',
    ]) {
      const body = await expectError(await events(JSON.stringify(without(field))), 400, 'invalid_input')
      expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]))
    }

    const wrongTypes: Array<[string, unknown]> = [
      ['event_id', 123],
      ['event_id', 'not-a-uuid'],
      ['timestamp', 'yesterday'],
      ['timestamp', 1_700_000_000],
      ['source', ''],
      ['entity_id', 'nope'],
      ['entity_type', 'spaceship'],
      ['version', 1],
      ['version', 'v-one'],
      ['data', 'text'],
      ['metadata', []],
    ]
    for (const [field, value] of wrongTypes) {
      const body = await expectError(
        await events(JSON.stringify(withField(field, value))),
        400,
        'invalid_input',
      )
      expect(body.error.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: expect.stringMatching(new RegExp(`^${field}`)) }),
        ]),
      )
    }

    const unknownType = await expectError(
      await events(JSON.stringify(withField('event_type', 'entity.exploded'))),
      400,
      'invalid_input',
    )
    expect(unknownType.error.details).toEqual([expect.objectContaining({ path: 'event_type' })])
    await expectError(await events(JSON.stringify(withField('surprise', true))), 400, 'invalid_input')

    const big = { ...valid(), data: { description: 'x'.repeat(MAX_BODY) } }
    await expectError(await events(JSON.stringify(big)), 413, 'payload_too_large')

    const tooMany = Array.from({ length: MAX_BATCH + 1 }, () => healthDegraded())
    await expectError(await events(JSON.stringify({ events: tooMany })), 413, 'batch_too_large')
    await expectError(await events(JSON.stringify({ events: [] })), 400, 'invalid_input')
    await expectError(await events(JSON.stringify({ events: 'all of them' })), 400, 'invalid_input')

    const oneBad = [healthDegraded(), healthDegraded(), { ...healthDegraded(), event_id: 'bad' }]
    const batch = await expectError(await events(JSON.stringify({ events: oneBad })), 400, 'invalid_input')
    expect(batch.error.details).toEqual([expect.objectContaining({ path: 'events.2.event_id' })])

    await tap.stop()
    expect(published(tap.subjects())).toEqual([])
  })

  it('refuses subjects with spaces, CR-LF, wildcards or empty tokens before they reach NATS', async () => {
    const tap = await startWiretap(setup.nc)
    const bad = [
      'svc.a b',
      'svc.a\r\nPUB evil 0',
      'svc.a\nb',
      'svc.a\tb',
      'svc.*',
      'svc.>',
      '>',
      '*',
      'svc..allowed',
      'svc.allowed.',
      '.svc.allowed',
      'svc.all"owed',
    ]
    for (const subject of bad) {
      const body = await expectError(await request(encodeURIComponent(subject)), 400, 'invalid_subject')
      expect(body.error.message).toMatch(/subject/)
    }
    const tooLarge = await request('svc.allowed', ADMIN_TOKEN, JSON.stringify({ pad: 'x'.repeat(MAX_BODY) }))
    await expectError(tooLarge, 413, 'payload_too_large')
    await tap.stop()
    expect(published(tap.subjects())).toEqual([])
  })

  it('answers unknown routes and methods with a JSON 404', async () => {
    await expectError(await fetch(`${setup.bridge.url}/nope`), 404, 'not_found')
    await expectError(
      await fetch(`${setup.bridge.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      404,
      'not_found',
    )
  })
})
