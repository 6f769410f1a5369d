import { randomUUID } from 'node:crypto'
import { connect, type Msg, type NatsConnection, type Service, type Subscription } from 'nats'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSwapExecutor } from '../../examples/swap-executor/service'
import { functionsForwardRoutes } from '../../scripts/lib/stack/bridge'
import { apiKeysVar } from '../../scripts/lib/stack/functions'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { createEvent } from '../../shared/events'
import { generateWebhookSecret } from '../../shared/webhook-signing'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type FunctionsUnderWrangler, startFunctionsUnderWrangler } from '../support/functions-under-wrangler'
import { startStackForTests, type TestStack } from '../support/stack'

const API_KEY = 'swap-test-api-key-0123456789'
const FUNCTIONS_TOKEN = 'functions-bridge-token-0123456789'
const FORWARD_TOKEN = 'forward-token-for-tests-0123456789'
const FORWARD_SIGNING_SECRET = generateWebhookSecret()
const SUBSCRIBER_TOKEN = 'swap-subscriber-token-0123456789'
const SWAP_TIMEOUT_MS = 1_500

let stack: TestStack
const bridges: BridgeProcess[] = []
let functions: FunctionsUnderWrangler
let nc: NatsConnection
let sql: postgres.Sql

const bridgeEnv = (functionsUrl: string) => ({
  FORWARD_TOKEN,
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  // the routes of npm start but rolled_back, which one test delivers through a webhook subscription only
  FORWARD_ROUTES: JSON.stringify(
    functionsForwardRoutes(functionsUrl).filter((route) => route.subject !== 'library.swap.rolled_back'),
  ),
})
const bridgeTokens = {
  functions: { token: FUNCTIONS_TOKEN, publish: ['library.>'], request: ['library.swap.command'] },
  subscriber: { token: SUBSCRIBER_TOKEN, subscribe: ['library.swap.*'] },
}

const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${functions.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

const STRATEGY_CONFIG = { symbols: ['AAPL'], max_position: 10 }
const entity = async (options: { type?: 'strategy' | 'model'; validate?: boolean } = {}) => {
  const type = options.type ?? 'strategy'
  const created = await api('POST', '/entities', {
    name: `swap-${type}-${randomUUID().slice(0, 8)}`,
    type,
    version: '1.0.0',
    description: 'an entity used by the swap tests',
    config: type === 'strategy' ? STRATEGY_CONFIG : { framework: 'torch', input_features: ['close'] },
  })
  expect(created.status).toBe(201)
  const id: string = created.body.id ?? created.body.entity_id
  if (options.validate !== false) {
    const validated = await api('POST', `/entities/${id}/validate`)
    expect(validated.status).toBe(200)
  }
  return id
}

const swapBody = (from: string, to: string, extra: Record<string, unknown> = {}) => ({
  from_entity_id: from,
  to_entity_id: to,
  reason: 'better sharpe',
  initiated_by: 'swap-tests',
  ...extra,
})

const outboxEvents = async (swapId: string) =>
  (
    await sql<{ event_type: string; delivered: boolean; event_id: string }[]>`
      select event_type, delivered_at is not null as delivered, event_id::text as event_id
        from outbox where payload->>'swap_id' = ${swapId} order by id`
  ).map((r) => ({ ...r }))

const eventTypes = async (swapId: string) => (await outboxEvents(swapId)).map((e) => e.event_type)

/** A plain nats client answering the command with exactly the original spec's SwapResponse fields. */
const plainExecutor = async (
  answer: (command: Record<string, unknown>) => Record<string, unknown> | undefined,
) => {
  const commands: Array<Record<string, unknown>> = []
  const sub = nc.subscribe('library.swap.command', {
    callback: (_err, msg: Msg) => {
      const command = msg.json<Record<string, unknown>>()
      commands.push(command)
      const reply = answer(command)
      if (reply) msg.respond(JSON.stringify(reply))
    },
  })
  await nc.flush()
  return { commands, sub }
}
const completing = (command: Record<string, unknown>) => ({
  swap_id: command.swap_id,
  status: command.action === 'rollback' ? 'rolled_back' : command.validate_only ? 'validated' : 'completed',
  success: true,
  message: 'done',
  validation_results: { latency_ok: true },
})

const stopAll = async (subs: Array<Subscription | Service>) => {
  for (const s of subs) 'unsubscribe' in s ? s.unsubscribe() : await s.stop()
  await nc.flush()
}

beforeAll(async () => {
  // the stack's bridge shares the webhook subscriptions with ours, so it must reach the functions too
  stack = await startStackForTests({
    databasePrefix: 'swaps',
    bridgeEnv: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
  })
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} })
  const [bridgePort, functionsPort] = [await getFreePort(), await getFreePort()]
  const functionsUrl = `http://127.0.0.1:${functionsPort}`
  bridges.push(
    await startBridgeProcess({
      natsUrl: stack.natsUrl,
      port: bridgePort,
      tokens: bridgeTokens,
      env: bridgeEnv(functionsUrl),
      waitFor: 'ready',
    }),
  )
  functions = await startFunctionsUnderWrangler(
    {
      DATABASE_URL: stack.databaseUrl,
      PG_WS_PROXY: stack.pgWsProxy,
      BRIDGE_URL: bridges[0]!.url,
      BRIDGE_TOKEN: FUNCTIONS_TOKEN,
      FORWARD_TOKEN,
      FORWARD_SIGNING_SECRET,
      SWAP_TIMEOUT_MS: String(SWAP_TIMEOUT_MS),
      API_KEYS: apiKeysVar([{ name: 'tests', key: API_KEY }]),
    },
    { port: functionsPort },
  )
  nc = await connect({ servers: stack.natsUrl })
}, 180_000)

afterAll(async () => {
  await nc?.close()
  await functions?.stop()
  for (const bridge of bridges) await bridge.stop()
  await sql?.end({ timeout: 2 })
  await stack?.cleanup()
}, 60_000)

describe('swaps end to end', () => {
  it('completes a swap answered by a plain executor, stores it and emits swap.initiated + swap.completed', async () => {
    const [from, to] = [await entity(), await entity()]
    const executor = await plainExecutor(completing)
    try {
      const res = await api('POST', '/swaps', swapBody(from, to))
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual([
        'message',
        'status',
        'success',
        'swap_id',
        'validation_results',
      ])
      expect(res.body).toMatchObject({
        status: 'completed',
        success: true,
        validation_results: { latency_ok: true },
      })
      expect(executor.commands).toHaveLength(1)
      expect(executor.commands[0]).toMatchObject({
        swap_id: res.body.swap_id,
        from_entity_id: from,
        to_entity_id: to,
        action: 'execute',
        validate_only: false,
      })
      const stored = await api('GET', `/swaps/${res.body.swap_id}`)
      expect(stored.body).toMatchObject({
        swap_id: res.body.swap_id,
        status: 'completed',
        settled_at: expect.any(String),
      })
      await expect
        .poll(() => outboxEvents(res.body.swap_id), { timeout: 20_000 })
        .toEqual([
          expect.objectContaining({ event_type: 'swap.initiated', delivered: true }),
          expect.objectContaining({ event_type: 'swap.completed', delivered: true }),
        ])

      const rollback = await api('POST', `/swaps/${res.body.swap_id}/rollback`, { reason: 'drawdown' })
      expect(rollback.status).toBe(200)
      expect(rollback.body.status).toBe('rolled_back')
      expect(executor.commands[1]).toMatchObject({
        swap_id: res.body.swap_id,
        action: 'rollback',
        reason: 'drawdown',
      })
      expect((await api('GET', `/swaps/${res.body.swap_id}`)).body.status).toBe('rolled_back')
      await expect.poll(() => eventTypes(res.body.swap_id), { timeout: 20_000 }).toContain('swap.rolled_back')
      expect((await api('POST', `/swaps/${res.body.swap_id}/rollback`)).status).toBe(409)
    } finally {
      await stopAll([executor.sub])
    }
  })

  it('validate_only: the reference executor validates through the bridge and the swap ends validated', async () => {
    const [from, to] = [await entity(), await entity()]
    const service = await startSwapExecutor(nc, { delayMs: 10 })
    try {
      const res = await api('POST', '/swaps', swapBody(from, to, { validate_only: true }))
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ status: 'validated', success: true })
      // the checks come from the Library's /internal/swap/validate, reached over NATS and the forward route
      expect(res.body.validation_results.checks).toContainEqual(
        expect.objectContaining({ rule: 'target_validated', passed: true }),
      )
      expect((await api('GET', `/swaps/${res.body.swap_id}`)).body.status).toBe('validated')
      await expect
        .poll(() => eventTypes(res.body.swap_id), { timeout: 20_000 })
        .toEqual(['swap.initiated', 'swap.validated'])
    } finally {
      await stopAll([service])
    }
  })

  it('no executor: 503 no_responders, swap failed, swap.failed emitted', async () => {
    const [from, to] = [await entity(), await entity()]
    const res = await api('POST', '/swaps', swapBody(from, to))
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('no_responders')
    const swapId = res.body.error.details.swap_id
    expect((await api('GET', `/swaps/${swapId}`)).body).toMatchObject({
      status: 'failed',
      error_code: 'no_responders',
    })
    await expect
      .poll(() => eventTypes(swapId), { timeout: 20_000 })
      .toEqual(['swap.initiated', 'swap.failed'])
  })

  it('an executor reply that is not a SwapResponse: 502 and the swap failed', async () => {
    const [from, to] = [await entity(), await entity()]
    const executor = await plainExecutor(() => ({ ok: true }))
    try {
      const res = await api('POST', '/swaps', swapBody(from, to))
      expect(res.status).toBe(502)
      expect(res.body.error.code).toBe('invalid_executor_reply')
      expect((await api('GET', `/swaps/${res.body.error.details.swap_id}`)).body.status).toBe('failed')
    } finally {
      await stopAll([executor.sub])
    }
  })

  it('a slow executor: 504 and unknown, then its late swap.completed settles the swap', async () => {
    const [from, to] = [await entity(), await entity()]
    const slow = await startSwapExecutor(nc, { delayMs: SWAP_TIMEOUT_MS + 1_000, validate: false })
    try {
      const res = await api('POST', '/swaps', swapBody(from, to))
      expect(res.status).toBe(504)
      const swapId = res.body.error.details.swap_id
      expect(res.body.error.details.status).toBe('unknown')
      expect((await api('GET', `/swaps/${swapId}`)).body.status).toBe('unknown')
      await expect
        .poll(async () => (await api('GET', `/swaps/${swapId}`)).body.status, { timeout: 30_000 })
        .toBe('completed')
      const events = await outboxEvents(swapId)
      expect(events.map((e) => e.event_type)).toEqual(['swap.initiated', 'swap.completed'])
      // recorded under the executor's own event id, so the stream keeps one copy
      const { swapOutcomeEventId } = await import('../../shared/swap-execution')
      expect(events[1]!.event_id).toBe(await swapOutcomeEventId(swapId, 'swap.completed'))
    } finally {
      await stopAll([slow])
    }
  })

  it('a bridge webhook subscription on library.swap.* settles late outcomes, signed with FORWARD_SIGNING_SECRET', async () => {
    const [from, to] = [await entity(), await entity()]
    const executor = await plainExecutor(completing)
    let swapId: string
    try {
      const res = await api('POST', '/swaps', swapBody(from, to))
      expect(res.status).toBe(200)
      swapId = res.body.swap_id
    } finally {
      await stopAll([executor.sub])
    }
    const bridge = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${bridges[0]!.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return { status: res.status, body: await res.json().catch(() => undefined) }
    }
    const name = `swap-events-${randomUUID().slice(0, 8)}`
    const created = await bridge('POST', '/v1/subscriptions', SUBSCRIBER_TOKEN, {
      name,
      subject: 'library.swap.*',
      url: `${functions.url}/internal/swap/events`,
      secret: FORWARD_SIGNING_SECRET,
    })
    expect(created.status).toBe(201)
    try {
      // no forward route carries rolled_back in this stack: only the subscription can deliver it
      const late = createEvent({
        event_type: 'swap.rolled_back',
        source: 'swap-executor',
        swap_id: swapId,
        data: { from_entity_id: from, to_entity_id: to, reason: 'regression', message: 'rolled back late' },
      })
      const published = await bridge('POST', '/v1/events', FUNCTIONS_TOKEN, late)
      expect(published.status).toBe(202)
      await expect
        .poll(async () => (await api('GET', `/swaps/${swapId}`)).body.status, { timeout: 30_000 })
        .toBe('rolled_back')
      expect((await outboxEvents(swapId)).map((e) => e.event_type)).toEqual([
        'swap.initiated',
        'swap.completed',
        'swap.rolled_back',
      ])
      const state = await bridge('GET', `/v1/subscriptions/${name}`, SUBSCRIBER_TOKEN)
      expect((state.body as { last_error?: unknown }).last_error ?? null).toBeNull()
    } finally {
      await bridge('DELETE', `/v1/subscriptions/${name}`, SUBSCRIBER_TOKEN)
    }
  })

  it('Idempotency-Key: concurrent and repeated requests relay one command; another body is a 422', async () => {
    const [from, to] = [await entity(), await entity()]
    const executor = await plainExecutor(completing)
    try {
      const key = `idem-${randomUUID()}`
      const body = swapBody(from, to)
      const [a, b] = await Promise.all([
        api('POST', '/swaps', body, { 'idempotency-key': key }),
        api('POST', '/swaps', body, { 'idempotency-key': key }),
      ])
      const again = await api('POST', '/swaps', body, { 'idempotency-key': key })
      expect([a.status, b.status, again.status]).toEqual([200, 200, 200])
      expect(b.body).toEqual(a.body)
      expect(again.body).toEqual(a.body)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(executor.commands).toHaveLength(1)
      const other = await api(
        'POST',
        '/swaps',
        { ...body, reason: 'another reason' },
        { 'idempotency-key': key },
      )
      expect(other.status).toBe(422)
      expect(other.body.error.code).toBe('idempotency_key_reused')
      expect(executor.commands).toHaveLength(1)
      const swaps = await sql`select id from swaps where from_entity_id = ${from}`
      expect(swaps).toHaveLength(1)
    } finally {
      await stopAll([executor.sub])
    }
  })

  it('bad input: 4xx and nothing relayed or recorded', async () => {
    const [from, to, model, unvalidated, deleted] = [
      await entity(),
      await entity(),
      await entity({ type: 'model' }),
      await entity({ validate: false }),
      await entity(),
    ]
    expect((await api('DELETE', `/entities/${deleted}`)).status).toBeLessThan(300)
    const executor = await plainExecutor(completing)
    const before = (await sql`select count(*)::int as n from swaps`)[0]!.n
    try {
      const cases: Array<[unknown, number, string]> = [
        [swapBody(from, from), 422, 'same_entity'],
        [swapBody(from, deleted), 409, 'entity_deleted'],
        [swapBody(deleted, to), 409, 'entity_deleted'],
        [swapBody(from, model), 422, 'type_mismatch'],
        [swapBody(from, unvalidated), 409, 'target_not_validated'],
        [swapBody(from, randomUUID()), 404, 'entity_not_found'],
        [swapBody('not-a-uuid', to), 400, 'invalid_input'],
        [{ from_entity_id: from }, 400, 'invalid_input'],
        [{ ...swapBody(from, to), extra: 1 }, 400, 'invalid_input'],
        ['{"from_entity_id":', 400, 'malformed_json'],
      ]
      for (const [body, status, code] of cases) {
        const res = await api('POST', '/swaps', body)
        expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code })
      }
      expect((await api('GET', '/swaps/not-a-uuid')).status).toBe(400)
      expect((await api('GET', `/swaps/${randomUUID()}`)).status).toBe(404)
      await nc.flush()
      expect(executor.commands).toHaveLength(0)
      expect((await sql`select count(*)::int as n from swaps`)[0]!.n).toBe(before)
    } finally {
      await stopAll([executor.sub])
    }
  })
})

describe('library.swap.validate over NATS', () => {
  it('reaches the functions through the bridge and answers valid, or not valid with reasons', async () => {
    const [from, to, model] = [await entity(), await entity(), await entity({ type: 'model' })]
    const ok = await nc.request('library.swap.validate', JSON.stringify(swapBody(from, to)), {
      timeout: 15_000,
    })
    expect(ok.json()).toMatchObject({ valid: true, message: 'Swap validation passed' })
    const mismatch = await nc.request('library.swap.validate', JSON.stringify(swapBody(from, model)), {
      timeout: 15_000,
    })
    expect(mismatch.json()).toMatchObject({
      valid: false,
      validation_results: { error_code: 'type_mismatch' },
    })
    // the original spec's test sends names, not ids: an answer with reasons, not an error
    const spec = await nc.request(
      'library.swap.validate',
      JSON.stringify({ from_entity: 'a', to_entity: 'b' }),
      {
        timeout: 15_000,
      },
    )
    expect(spec.headers?.get('Nats-Service-Error') ?? '').toBe('')
    expect(spec.json()).toMatchObject({ valid: false })
  })

  it('with two bridges running, each request is answered exactly once', async () => {
    bridges.push(
      await startBridgeProcess({
        natsUrl: stack.natsUrl,
        tokens: bridgeTokens,
        env: bridgeEnv(functions.url),
        waitFor: 'ready',
      }),
    )
    await bridges[1]!.waitForLog((line) => line.msg === 'forward routes subscribed', 30_000)
    const [from, to] = [await entity(), await entity()]
    const inbox = `_INBOX.validate-${randomUUID()}`
    const replies: string[] = []
    const sub = nc.subscribe(inbox, { callback: (_err, msg) => replies.push(msg.string()) })
    const body = JSON.stringify(swapBody(from, to))
    for (let i = 0; i < 6; i++) nc.publish('library.swap.validate', body, { reply: inbox })
    await expect.poll(() => replies.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(6)
    // a last request answered after the others shows no duplicate was still on its way
    const last = await nc.request('library.swap.validate', body, { timeout: 15_000 })
    expect(last.json()).toMatchObject({ valid: true })
    await nc.flush()
    expect(replies).toHaveLength(6)
    expect(replies.every((r) => JSON.parse(r).valid === true)).toBe(true)
    sub.unsubscribe()
  })

  it('refuses the internal endpoint without the forward token', async () => {
    const res = await fetch(`${functions.url}/internal/swap/validate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(res.status).toBe(401)
  })
})
