import { headers } from 'nats'
import { beforeAll, describe, expect, it } from 'vitest'
import { bearer } from './support/bridge-client'
import { bridgeOnNats } from './support/bridge-on-nats'

const setup = bridgeOnNats({
  env: { BRIDGE_REQUEST_TIMEOUT_MS: '2000', BRIDGE_REQUEST_TIMEOUT_MAX_MS: '3000' },
})

beforeAll(async () => {
  setup.nc.subscribe('svc.echo', {
    callback: (_err, msg) => {
      const h = headers()
      h.set('X-Echo-Trace', msg.headers?.get('X-Trace') ?? '')
      h.set('X-Seen-Request-Id', msg.headers?.get('X-Request-Id') ?? '')
      h.set('X-Saw-Authorization', msg.headers?.has('Authorization') ? 'yes' : 'no')
      h.set('Content-Type', 'application/vnd.echo+json')
      const input = JSON.parse(new TextDecoder().decode(msg.data)) as unknown
      msg.respond(JSON.stringify({ echoed: input, subject: msg.subject }), { headers: h })
    },
  })
  setup.nc.subscribe('svc.slow', {
    callback: (_err, msg) => {
      setTimeout(() => msg.respond('late'), 5_000)
    },
  })
  setup.nc.subscribe('svc.plain', { callback: (_err, msg) => msg.respond(JSON.stringify({ ok: true })) })
  await setup.nc.flush()
})

const relay = (subject: string, init: RequestInit = {}, query = '') =>
  fetch(`${setup.bridge.url}/v1/request/${subject}${query}`, {
    method: 'POST',
    ...init,
    headers: { ...bearer(), 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  })

describe('POST /v1/request/{subject}', () => {
  it('relays the body to a responder and its reply body and headers back', async () => {
    const res = await relay('svc.echo', {
      body: JSON.stringify({ hello: 'world' }),
      headers: { 'x-trace': 'abc-123', 'x-request-id': 'req-from-client-1' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ echoed: { hello: 'world' }, subject: 'svc.echo' })
    expect(res.headers.get('content-type')).toBe('application/vnd.echo+json')
    expect(res.headers.get('x-echo-trace')).toBe('abc-123')
    expect(res.headers.get('x-seen-request-id')).toBe('req-from-client-1')
    expect(res.headers.get('x-request-id')).toBe('req-from-client-1')
    expect(res.headers.get('x-saw-authorization')).toBe('no')
  })

  it('labels a JSON reply without a content type as application/json', async () => {
    const res = await relay('svc.plain', { body: '{}' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({ ok: true })
  })

  it('answers 503 no_responders at once when nobody listens', async () => {
    const started = Date.now()
    const res = await relay('svc.nobody', { body: '{}' }, '?timeout_ms=3000')
    const elapsed = Date.now() - started
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_responders')
    expect(elapsed).toBeLessThan(3_000)
  })

  it('answers 504 timeout near the requested timeout', async () => {
    const started = Date.now()
    const res = await relay('svc.slow', { body: '{}', headers: { 'x-timeout-ms': '700' } })
    const elapsed = Date.now() - started
    expect(res.status).toBe(504)
    const body = (await res.json()) as { error: { code: string; details: { timeout_ms: number } } }
    expect(body.error.code).toBe('timeout')
    expect(body.error.details.timeout_ms).toBe(700)
    expect(elapsed).toBeGreaterThanOrEqual(650)
    expect(elapsed).toBeLessThan(2_000)
  })

  it('caps the requested timeout at the configured maximum', async () => {
    const res = await relay('svc.slow', { body: '{}' }, '?timeout_ms=600000')
    expect(res.status).toBe(504)
    const body = (await res.json()) as { error: { details: { timeout_ms: number } } }
    expect(body.error.details.timeout_ms).toBe(3_000)
  })

  it('refuses a timeout that is not a positive integer', async () => {
    for (const value of ['0', '-5', 'abc', '1.5']) {
      const res = await relay('svc.echo', { body: '{}' }, `?timeout_ms=${value}`)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_timeout')
    }
  })

  it('counts relay outcomes in /metrics', async () => {
    const text = await (await fetch(`${setup.bridge.url}/metrics`)).text()
    expect(text).toMatch(/bridge_request_relay_total\{outcome="ok"\} [1-9]/)
    expect(text).toMatch(/bridge_request_relay_total\{outcome="no_responders"\} [1-9]/)
    expect(text).toMatch(/bridge_request_relay_total\{outcome="timeout"\} [1-9]/)
    expect(text).toMatch(/bridge_request_relay_duration_seconds_count\{outcome="ok"\} [1-9]/)
  })
})
