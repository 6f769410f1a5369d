import * as v from 'valibot'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CreatedSubscription, SubscriptionDetails, SubscriptionList } from '../../../shared/bridge-contract'
import { metricValue, NARROW_TOKEN } from '../../support/in-process-bridge'
import { inProcessBridgeOnNats } from '../support/bridge-on-nats'
import { Receiver } from '../support/receiver'
import { type Api, apiClient, eventually, publishEvents } from '../support/subscriptions'

const receivers: Receiver[] = []

const setup = inProcessBridgeOnNats({
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_ACK_WAIT_MS: '5000',
  WEBHOOK_BACKOFF_INITIAL_MIN_MS: '10',
})
let api: Api

beforeAll(() => {
  api = apiClient(setup.bridge.url, setup.bridge.token)
})

afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close()
})

const receiver = async () => {
  const r = await Receiver.start()
  receivers.push(r)
  return r
}

const subscribe = async (r: Receiver, body: Record<string, unknown>) => {
  const res = await api('POST', '/v1/subscriptions', { url: r.url, ...body })
  expect(res.status, JSON.stringify(res.json)).toBe(201)
  r.secret = res.json.secret
  return res.json
}

const details = async (name: string) => (await api('GET', `/v1/subscriptions/${name}`)).json

describe('/v1/subscriptions management', () => {
  it('creates, lists, shows, refuses duplicates and deletes', async () => {
    const r = await receiver()
    const created = await subscribe(r, { name: 'crud', subject: 'library.entity.*', max_deliver: 4 })
    expect(created.secret).toMatch(/^whsec_/)
    expect(v.safeParse(CreatedSubscription, created).issues).toBeUndefined()
    expect(created).toMatchObject({
      name: 'crud',
      subject: 'library.entity.*',
      state: 'active',
      max_deliver: 4,
    })

    const list = await api('GET', '/v1/subscriptions')
    expect(list.status).toBe(200)
    expect(v.safeParse(SubscriptionList, list.json).issues).toBeUndefined()
    const listed = list.json.subscriptions.find((s: { name: string }) => s.name === 'crud')
    expect(listed).toBeDefined()
    expect(listed.secret).toBeUndefined()

    const shown = await api('GET', '/v1/subscriptions/crud')
    expect(shown.status).toBe(200)
    expect(shown.json.secret).toBeUndefined()
    expect(v.safeParse(SubscriptionDetails, shown.json).issues).toBeUndefined()
    expect(shown.json.stats).toMatchObject({ pending: 0, dead_letters: 0 })
    expect(shown.json.last_error).toBeNull()

    const again = await api('POST', '/v1/subscriptions', {
      name: 'crud',
      subject: 'library.entity.*',
      url: r.url,
    })
    expect(again.status).toBe(409)

    // Another principal does not learn that it exists, even with the subject in its scope.
    expect((await api('GET', '/v1/subscriptions/crud', undefined, NARROW_TOKEN)).status).toBe(404)
    const forbidden = await api(
      'POST',
      '/v1/subscriptions',
      { name: 'wide', subject: 'library.>', url: r.url },
      NARROW_TOKEN,
    )
    expect(forbidden.status).toBe(403)

    expect((await api('DELETE', '/v1/subscriptions/crud')).status).toBe(204)
    expect((await api('GET', '/v1/subscriptions/crud')).status).toBe(404)
    expect((await api('DELETE', '/v1/subscriptions/crud')).status).toBe(404)
  })

  it('refuses invalid subscriptions with per-field details', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ name: 'bad name', subject: 'library.entity.*', url: 'http://127.0.0.1:9/x' }, 400, 'invalid_input'],
      [{ name: 'x', subject: 'library..x', url: 'http://127.0.0.1:9/x' }, 400, 'invalid_input'],
      [{ name: 'x', subject: 'ops.alerts', url: 'http://127.0.0.1:9/x' }, 400, 'invalid_input'],
      [{ name: 'x', subject: 'library.entity.*', url: 'file:///etc/passwd' }, 400, 'url_not_allowed'],
      [{ name: 'x', subject: 'library.entity.*', url: 'gopher://127.0.0.1:70/' }, 400, 'url_not_allowed'],
      [{ name: 'x', subject: 'library.entity.*', url: 'http://10.0.0.1/hook' }, 400, 'url_not_allowed'],
      [{ name: 'x', subject: 'library.entity.*', url: 'http://[::1]:9/hook' }, 400, 'url_not_allowed'],
      [
        { name: 'x', subject: 'library.entity.*', url: 'http://127.0.0.1:9/', max_deliver: 0 },
        400,
        'invalid_input',
      ],
      [
        { name: 'x', subject: 'library.entity.*', url: 'http://127.0.0.1:9/', secret: 'plain' },
        400,
        'invalid_input',
      ],
      [
        { name: 'x', subject: 'library.entity.*', url: 'http://127.0.0.1:9/', extra: 1 },
        400,
        'invalid_input',
      ],
    ]
    for (const [body, status, code] of cases) {
      const res = await api('POST', '/v1/subscriptions', body)
      expect([res.status, res.json.error.code], JSON.stringify(body)).toEqual([status, code])
    }
  })

  it('refuses a body that is not JSON, too large or not an object before reading its fields', async () => {
    const post = async (body: string, contentType = 'application/json') => {
      const res = await fetch(`${setup.bridge.url}/v1/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${setup.bridge.token}`, 'content-type': contentType },
        body,
      })
      const { error } = (await res.json()) as { error: { code: string; details?: unknown } }
      return { status: res.status, code: error.code, details: error.details }
    }
    expect(await post('{"name": "x"}', 'text/plain')).toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
    })
    expect(await post('')).toMatchObject({ status: 400, code: 'malformed_json' })
    expect(await post('{"name": ')).toMatchObject({ status: 400, code: 'malformed_json' })
    expect(await post(JSON.stringify({ name: 'x'.repeat(17_000) }))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    })
    expect(await post('"just text"')).toMatchObject({
      status: 400,
      code: 'invalid_input',
      details: [{ path: '(root)' }],
    })
    expect(await post('{"name": "ok", "subject": "library.entity.*"}')).toMatchObject({
      status: 400,
      code: 'invalid_input',
      details: [{ path: 'url' }],
    })
  })
})

describe('webhook delivery', () => {
  it('delivers each event signed per Standard Webhooks with CloudEvents headers', async () => {
    const r = await receiver()
    let open = () => {}
    const held = new Promise<void>((resolve) => {
      open = resolve
    })
    r.reply = async () => {
      await held
      return { status: 204 }
    }
    await subscribe(r, { name: 'signed', subject: 'library.entity.registered' })
    const events = await publishEvents(setup.js, 'entity.registered', 5)
    const inFlight = async () => metricValue(await setup.bridge.metrics(), 'bridge_webhook_in_flight')
    await eventually(async () => (await inFlight()) === 5)
    open()
    await r.until((x) => x.ok().length >= 5)
    expect(r.deliveries.every((d) => d.verified)).toBe(true)
    expect(r.deliveries.map((d) => d.id).sort()).toEqual(events.map((e) => e.event_id).sort())
    for (const event of events) {
      const d = r.attemptsFor(event.event_id)
      expect(d).toHaveLength(1)
      expect(JSON.parse(d[0]?.body ?? '')).toEqual(event)
      expect(d[0]?.headers).toMatchObject({
        'content-type': 'application/json',
        'ce-id': event.event_id,
        'ce-type': 'entity.registered',
        'ce-source': 'library_service',
        'ce-time': event.timestamp,
        'ce-specversion': '1.0',
      })
    }
    const delivered = async () =>
      metricValue(await setup.bridge.metrics(), 'bridge_webhook_deliveries_total', {
        subscription: 'signed',
        outcome: 'delivered',
      })
    await eventually(async () => (await delivered()) >= 5)
    expect(await delivered()).toBe(5)
    expect(await inFlight()).toBe(0)
  })

  it('retries a failing receiver with growing delays and delivers once it recovers', async () => {
    const r = await receiver()
    r.reply = (_d, attempt) => ({ status: attempt <= 3 ? 500 : 200 })
    await subscribe(r, {
      name: 'retry',
      subject: 'library.entity.updated',
      max_deliver: 6,
      backoff: { initial_ms: 300, max_ms: 10_000, factor: 2, jitter: 0 },
    })
    const [event] = await publishEvents(setup.js, 'entity.updated', 1)
    await r.until((x) => x.ok().length >= 1)
    const attempts = r.attemptsFor(event?.event_id ?? '')
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 200])
    expect(attempts.every((a) => a.verified)).toBe(true)
    const gaps = attempts.slice(1).map((a, i) => a.at - (attempts[i]?.at ?? 0))
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0)
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? 0)
    const shown = await details('retry')
    expect(shown.last_error).toMatchObject({ status: 500, event_id: event?.event_id, attempt: 3 })
    expect(shown.stats.dead_letters).toBe(0)
  })

  it('dead-letters after max_deliver and replays the dead letter once the receiver is fixed', async () => {
    const r = await receiver()
    r.reply = () => ({ status: 503 })
    await subscribe(r, {
      name: 'dlq',
      subject: 'library.deployment.failed',
      max_deliver: 3,
      backoff: { initial_ms: 100, max_ms: 1_000, jitter: 0 },
    })
    const [event] = await publishEvents(setup.js, 'deployment.failed', 1)
    const id = event?.event_id ?? ''
    // the dead letter is stored before the original is acked, so both are awaited
    const dead = await eventually(async () => {
      const s = await details('dlq')
      return s.stats.dead_letters === 1 && s.stats.pending + s.stats.in_flight === 0 && s
    })
    expect(r.attemptsFor(id).map((a) => a.status)).toEqual([503, 503, 503])
    expect(dead.last_error).toMatchObject({ status: 503, attempt: 3, event_id: id })

    r.reply = () => ({ status: 200 })
    const replay = await api('POST', '/v1/subscriptions/dlq/replay')
    expect(replay).toMatchObject({ status: 202, json: { replayed: 1 } })
    await r.until((x) => x.ok().length >= 1)
    const ok = r.ok()
    expect(ok).toHaveLength(1)
    expect(ok[0]).toMatchObject({ id, verified: true })
    expect(JSON.parse(ok[0]?.body ?? '')).toEqual(event)
    await eventually(async () => {
      const s = await details('dlq')
      return s.stats.dead_letters === 0 && s.stats.replays_pending === 0
    })
    expect((await api('POST', '/v1/subscriptions/dlq/replay')).json.replayed).toBe(0)
  })

  it('disables the subscription on 410 Gone and delivers the backlog after resume', async () => {
    const r = await receiver()
    r.reply = () => ({ status: 410 })
    await subscribe(r, {
      name: 'gone',
      subject: 'library.swap.failed',
      backoff: { initial_ms: 100, max_ms: 1_000, jitter: 0 },
    })
    const [first] = await publishEvents(setup.js, 'swap.failed', 1)
    const disabled = await eventually(async () => {
      const s = await details('gone')
      return s.state === 'disabled' && s
    })
    expect(disabled.state_reason).toMatch(/410/)
    expect(r.deliveries).toHaveLength(1)

    const [second] = await publishEvents(setup.js, 'swap.failed', 1, 1)
    // Both are outstanding on the consumer (a redelivery counts in pending as well as in flight).
    await eventually(async () => {
      const { stats } = await details('gone')
      return stats.pending + stats.in_flight >= 2
    })
    expect(r.deliveries).toHaveLength(1)

    r.reply = () => ({ status: 200 })
    const resumed = await api('POST', '/v1/subscriptions/gone/resume')
    expect(resumed.json.state).toBe('active')
    await r.until((x) => x.ok().length >= 2)
    expect(
      r
        .ok()
        .map((d) => d.id)
        .sort(),
    ).toEqual([first?.event_id, second?.event_id].sort())
  })

  it('waits as long as Retry-After says on 429', async () => {
    const r = await receiver()
    r.reply = (_d, attempt) =>
      attempt === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }
    await subscribe(r, {
      name: 'limited',
      subject: 'library.health.recovered',
      backoff: { initial_ms: 50, max_ms: 100, jitter: 0 },
    })
    const [event] = await publishEvents(setup.js, 'health.recovered', 1)
    await r.until((x) => x.ok().length >= 1)
    const attempts = r.attemptsFor(event?.event_id ?? '')
    expect(attempts.map((a) => a.status)).toEqual([429, 200])
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(2_000)
  })

  it('holds deliveries while paused and sends them on resume', async () => {
    const r = await receiver()
    await subscribe(r, { name: 'paused', subject: 'library.swap.validated' })
    const paused = await api('POST', '/v1/subscriptions/paused/pause')
    expect(paused.json.state).toBe('paused')
    const events = await publishEvents(setup.js, 'swap.validated', 3)
    await eventually(async () => (await details('paused')).stats.pending === 3)
    expect(r.deliveries).toHaveLength(0)
    await api('POST', '/v1/subscriptions/paused/resume')
    await r.until((x) => x.ok().length >= 3)
    expect(
      r
        .ok()
        .map((d) => d.id)
        .sort(),
    ).toEqual(events.map((e) => e.event_id).sort())
  })

  it('delivers one at a time in stream order when ordered', async () => {
    const r = await receiver()
    let firstFailures = 2
    r.reply = (d) => {
      const n = (JSON.parse(d.body) as { data: { n: number } }).data.n
      if (n === 1 && firstFailures > 0) {
        firstFailures--
        return { status: 500 }
      }
      return { status: 200 }
    }
    await subscribe(r, {
      name: 'ordered',
      subject: 'library.performance.threshold_exceeded',
      ordered: true,
      max_in_flight: 10,
      backoff: { initial_ms: 100, max_ms: 500, jitter: 0 },
    })
    await publishEvents(setup.js, 'performance.threshold_exceeded', 6)
    await r.until((x) => x.ok().length >= 6)
    const sequence = r.deliveries.map((d) => (JSON.parse(d.body) as { data: { n: number } }).data.n)
    expect(sequence).toEqual([0, 1, 1, 1, 2, 3, 4, 5])
  })
})
