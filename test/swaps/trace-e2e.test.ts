import { randomBytes, randomUUID } from 'node:crypto'
import { connect, type NatsConnection, type Service } from 'nats'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXECUTOR_NAME, startSwapExecutor } from '../../examples/swap-executor/service'
import { functionsForwardRoutes } from '../../scripts/lib/stack/bridge'
import { apiKeysVar } from '../../scripts/lib/stack/functions'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { STREAM_NAME, subjectFor } from '../../shared/subjects'
import { startTracing, type Tracing } from '../../shared/telemetry/tracing'
import { generateWebhookSecret } from '../../shared/webhook-signing'
import { Receiver } from '../bridge/support/receiver'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy'
import { type FunctionsUnderWrangler, startFunctionsUnderWrangler } from '../support/functions-under-wrangler'
import { childOf, type OtlpReceiver, SPAN_KIND, startOtlpReceiver } from '../support/otlp-receiver'
import { startStackForTests, type TestStack } from '../support/stack'

const API_KEY = 'trace-test-api-key-0123456789'
const FORWARD_TOKEN = 'forward-token-for-tests-0123456789'
const SPAN_WAIT_MS = 30_000

let otlp: OtlpReceiver
let webhook: Receiver
let stack: TestStack
let bridgeLink: FaultProxy
let functions: FunctionsUnderWrangler
let nc: NatsConnection
let sql: postgres.Sql
let tracing: Tracing | undefined
let executor: Service

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
/** The client's trace: every request below continues it, each from a span id of its own. */
const TRACE_ID = hex(16)
const clientSpanIds = new Set<string>()
const clientSpan = () => {
  const spanId = hex(8)
  clientSpanIds.add(spanId)
  return { spanId, traceparent: `00-${TRACE_ID}-${spanId}-01` }
}

const api = async (method: string, path: string, traceparent: string, body?: unknown) => {
  const res = await fetch(`${functions.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', traceparent },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

const strategy = () => ({
  name: `trace-${randomUUID().slice(0, 8)}`,
  type: 'strategy',
  version: '1.0.0',
  description: 'an entity in a traced flow',
  config: { symbols: ['AAPL'], max_position: 10 },
})

/** Creates and validates a strategy, each request from its own client span; returns the id and the creation's span. */
const tracedEntity = async () => {
  const creation = clientSpan()
  const created = await api('POST', '/entities', creation.traceparent, strategy())
  expect(created.status).toBe(201)
  const id: string = created.body.id
  expect((await api('POST', `/entities/${id}/validate`, clientSpan().traceparent)).status).toBe(200)
  return { id, creation }
}

const outboxRow = async (entityId: string, eventType: string) => {
  const [row] = await sql<
    { event_id: string; delivered: boolean; attempts: number; last_error: string | null }[]
  >`
    select event_id::text as event_id, delivered_at is not null as delivered, attempts, last_error
      from outbox where entity_key = ${entityId} and event_type = ${eventType}`
  return row ? { ...row } : undefined
}

/** Runs the Cron Trigger until `done` holds (a failed row is due again after its backoff). */
const drainUntil = (done: () => Promise<boolean>) =>
  expect
    .poll(
      async () => {
        expect(await functions.runScheduled()).toBe(200)
        return done()
      },
      { timeout: 60_000, interval: 1_000 },
    )
    .toBe(true)

const publishSpanOf = (eventId: string) =>
  otlp.waitForSpan(
    (s) => s.kind === SPAN_KIND.producer && s.attributes['messaging.message.id'] === eventId,
    SPAN_WAIT_MS,
  )
const spanById = (spanId: string | undefined) => otlp.waitForSpan((s) => s.spanId === spanId, SPAN_WAIT_MS)

/** Spans of the client's trace whose parent is neither a received span nor one of the client's spans. */
const orphans = () => {
  const spans = otlp.spans().filter((s) => s.traceId === TRACE_ID)
  const known = new Set([...spans.map((s) => s.spanId), ...clientSpanIds])
  return spans.filter((s) => !known.has(s.parentSpanId ?? '')).map((s) => `${s.service}: ${s.name}`)
}

beforeAll(async () => {
  otlp = await startOtlpReceiver()
  webhook = await Receiver.start()
  const functionsPort = await getFreePort()
  stack = await startStackForTests({
    databasePrefix: 'trace',
    bridgeEnv: {
      ...otlp.env,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      FORWARD_TOKEN,
      FORWARD_ROUTES: JSON.stringify(functionsForwardRoutes(`http://127.0.0.1:${functionsPort}`)),
    },
  })
  // the functions reach the bridge through a proxy a test cuts to make a post-commit delivery fail
  bridgeLink = await startFaultProxy({ target: { port: stack.bridge.port } })
  functions = await startFunctionsUnderWrangler(
    {
      DATABASE_URL: stack.databaseUrl,
      PG_WS_PROXY: stack.pgWsProxy,
      BRIDGE_URL: `http://${bridgeLink.address}`,
      BRIDGE_TOKEN: stack.bridgeTokens.functions.token,
      FORWARD_TOKEN,
      FORWARD_SIGNING_SECRET: generateWebhookSecret(),
      API_KEYS: apiKeysVar([{ name: 'tests', key: API_KEY }]),
    },
    { port: functionsPort },
  )
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} })
  nc = await connect({ servers: stack.natsUrl })
  // the SDK reads its exporter settings from the environment of this test file's own worker
  Object.assign(process.env, otlp.env)
  tracing = await startTracing(process.env, { serviceName: EXECUTOR_NAME })
  executor = await startSwapExecutor(nc, { delayMs: 10, tracing })
  const subscribed = await fetch(`${stack.bridgeUrl}/v1/subscriptions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.bridgeTokens.admin.token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ name: 'traced-library', subject: 'library.>', url: webhook.url }),
  })
  expect(subscribed.status, await subscribed.text()).toBe(201)
}, 180_000)

afterAll(async () => {
  await executor?.stop()
  await tracing?.shutdown()
  await nc?.close()
  await functions?.stop()
  await bridgeLink?.close()
  await sql?.end({ timeout: 2 })
  await stack?.cleanup()
  await webhook?.close()
  await otlp?.close()
}, 60_000)

describe('one trace from the client to the last consumer', () => {
  it('carries the client’s trace through the publish, the swap relay, the executor and a webhook delivery', async () => {
    expect(tracing).toBeDefined()
    const [from, to] = [await tracedEntity(), await tracedEntity()]
    const swapRequest = clientSpan()
    const swap = await api('POST', '/swaps', swapRequest.traceparent, {
      from_entity_id: from.id,
      to_entity_id: to.id,
      reason: 'traced swap',
      initiated_by: 'trace-tests',
    })
    expect(swap.status, JSON.stringify(swap.body)).toBe(200)
    expect(swap.body.status).toBe('completed')

    // 1. the entity's event is published under the creation request's span
    const registered = await outboxRow(from.id, 'entity.registered')
    const publish = await publishSpanOf(registered!.event_id)
    expect(publish).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: from.creation.spanId,
      name: `send ${subjectFor('entity.registered')}`,
    })
    expect(publish.attributes['messaging.system']).toBe('nats')
    const stored = await (await nc.jetstreamManager()).streams.getMessage(STREAM_NAME, {
      seq: Number(publish.attributes['messaging.nats.stream.sequence']),
    })
    expect(stored.header.get('Nats-Msg-Id')).toBe(registered!.event_id)
    expect(stored.header.get('traceparent')).toBe(`00-${TRACE_ID}-${publish.spanId}-01`)

    // 2. executor ← relay ← the bridge's HTTP span ← the swap request's client span
    const processed = await otlp.waitForSpan(
      (s) =>
        s.name === 'process library.swap.command' && s.attributes['library.swap.id'] === swap.body.swap_id,
      SPAN_WAIT_MS,
    )
    expect(processed).toMatchObject({ traceId: TRACE_ID, service: EXECUTOR_NAME, kind: SPAN_KIND.consumer })
    const relay = await spanById(processed.parentSpanId)
    expect(relay).toMatchObject({ name: 'request library.swap.command', kind: SPAN_KIND.client })
    const http = await spanById(relay.parentSpanId)
    expect(http).toMatchObject({ kind: SPAN_KIND.server, parentSpanId: swapRequest.spanId })
    expect(http.attributes['http.route']).toBe('/v1/request/:subject')

    // 3. the webhook delivery of that event, under its publish span, names itself to the receiver
    const attempt = await otlp.waitForSpan(
      (s) => childOf(publish)(s) && s.name === 'POST' && s.kind === SPAN_KIND.client,
      SPAN_WAIT_MS,
    )
    await webhook.until((r) => r.ok().some((d) => d.body.includes(registered!.event_id)))
    const delivered = webhook.ok().find((d) => d.body.includes(registered!.event_id))
    expect(delivered?.headers.traceparent).toBe(`00-${TRACE_ID}-${attempt.spanId}-01`)

    // 4. every event of the flow published and delivered, then no span of the trace lacks its parent;
    // a validation committed while its entity's registration was still on its way waits for the drain
    const events = () => sql<{ event_id: string; event_type: string; delivered: boolean }[]>`
      select event_id::text as event_id, event_type, delivered_at is not null as delivered from outbox
       where payload->'metadata'->>'traceparent' like ${`00-${TRACE_ID}-%`}`
    await drainUntil(async () => (await events()).every((e) => e.delivered))
    const flow = await events()
    expect(flow.map((e) => e.event_type).sort()).toEqual([
      'entity.registered',
      'entity.registered',
      'entity.validated',
      'entity.validated',
      'swap.completed',
      'swap.initiated',
    ])
    const undelivered = () => {
      const spans = otlp.spans()
      return flow
        .filter(({ event_id }) => {
          // a drain racing the post-commit delivery publishes again: any one copy may be the stored one
          const published = spans.filter(
            (s) => s.kind === SPAN_KIND.producer && s.attributes['messaging.message.id'] === event_id,
          )
          return !published.some((p) => spans.some((s) => childOf(p)(s) && s.name === 'POST'))
        })
        .map((e) => e.event_type)
    }
    await expect.poll(undelivered, { timeout: SPAN_WAIT_MS }).toEqual([])
    await expect.poll(orphans, { timeout: SPAN_WAIT_MS }).toEqual([])
  }, 120_000)

  it('the Cron drain publishes an event its request could not deliver under that request’s span', async () => {
    const creation = clientSpan()
    bridgeLink.cut()
    let entityId: string
    try {
      const created = await api('POST', '/entities', creation.traceparent, strategy())
      expect(created.status).toBe(201)
      entityId = created.body.id
      await expect
        .poll(() => outboxRow(entityId, 'entity.registered'), { timeout: SPAN_WAIT_MS })
        .toMatchObject({ delivered: false, attempts: 1, last_error: expect.stringContaining('bridge') })
    } finally {
      bridgeLink.heal()
    }
    await drainUntil(async () => (await outboxRow(entityId, 'entity.registered'))?.delivered === true)
    const row = await outboxRow(entityId, 'entity.registered')
    const publish = await publishSpanOf(row!.event_id)
    expect(publish).toMatchObject({ traceId: TRACE_ID, parentSpanId: creation.spanId })
    await expect.poll(orphans, { timeout: SPAN_WAIT_MS }).toEqual([])
  }, 120_000)
})
