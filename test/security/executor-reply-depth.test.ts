import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection } from 'nats'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeysVar } from '../../scripts/lib/stack/functions'
import { type FunctionsUnderWrangler, startFunctionsUnderWrangler } from '../support/functions-under-wrangler'
import { startStackForTests, type TestStack } from '../support/stack'

const API_KEY = 'depth-test-api-key-0123456789'

let stack: TestStack
let functions: FunctionsUnderWrangler
let nc: NatsConnection
let sql: postgres.Sql

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${functions.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

const validatedStrategy = async () => {
  const created = await api('POST', '/entities', {
    name: `depth-${randomUUID().slice(0, 8)}`,
    type: 'strategy',
    version: '1.0.0',
    description: 'an entity used by the executor reply test',
    config: { symbols: ['AAPL'], max_position: 10 },
  })
  expect(created.status).toBe(201)
  const id: string = created.body.id
  expect((await api('POST', `/entities/${id}/validate`)).status).toBe(200)
  return id
}

beforeAll(async () => {
  stack = await startStackForTests({ databasePrefix: 'depth' })
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} })
  functions = await startFunctionsUnderWrangler({
    DATABASE_URL: stack.databaseUrl,
    PG_WS_PROXY: stack.pgWsProxy,
    BRIDGE_URL: stack.bridgeUrl,
    BRIDGE_TOKEN: stack.bridgeTokens.functions.token,
    SWAP_TIMEOUT_MS: '5000',
    API_KEYS: apiKeysVar([{ name: 'tests', key: API_KEY }]),
  })
  nc = await connect({ servers: stack.natsUrl })
}, 180_000)

afterAll(async () => {
  await nc?.close()
  await functions?.stop()
  await sql?.end({ timeout: 2 })
  await stack?.cleanup()
}, 60_000)

describe('an executor reply deeper than MAX_JSON_DEPTH', () => {
  it('is an invalid executor reply (502), so no swap event carries it to the bridge, which would refuse it', async () => {
    const [from, to] = [await validatedStrategy(), await validatedStrategy()]
    let deep: Record<string, unknown> = { leaf: true }
    for (let i = 0; i < 40; i++) deep = { nested: deep }
    const sub = nc.subscribe('library.swap.command', {
      callback: (_err, msg) => {
        const command = msg.json<{ swap_id: string }>()
        msg.respond(
          JSON.stringify({
            swap_id: command.swap_id,
            status: 'completed',
            success: true,
            message: 'done',
            validation_results: deep,
          }),
        )
      },
    })
    await nc.flush()
    try {
      const res = await api('POST', '/swaps', {
        from_entity_id: from,
        to_entity_id: to,
        reason: 'depth',
        initiated_by: 'security-tests',
      })
      expect(res.status).toBe(502)
      expect(res.body.error.code).toBe('invalid_executor_reply')
      const swapId: string = res.body.error.details.swap_id
      // post-commit delivery runs after the response: wait for it to settle
      const outboxRows = async () =>
        (
          await sql<{ event_type: string; delivered: boolean }[]>`
            select event_type, delivered_at is not null as delivered
              from outbox where payload->>'swap_id' = ${swapId} order by id`
        ).map((r) => ({ ...r }))
      await expect
        .poll(async () => (await outboxRows()).every((r) => r.delivered), { timeout: 15_000 })
        .toBe(true)
      expect(await outboxRows()).toEqual([
        { event_type: 'swap.initiated', delivered: true },
        { event_type: 'swap.failed', delivered: true },
      ])
    } finally {
      sub.unsubscribe()
    }
  })
})
