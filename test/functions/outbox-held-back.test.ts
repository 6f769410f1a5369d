import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../functions/index'
import type { LibraryEvent } from '../../shared/events'
import { TEST_API_KEYS } from './support/api-keys'
import { type CallOptions, testEnv, uniqueName } from './support/call'
import { outboxFor, query } from './support/database'
import { runScheduled } from './support/scheduled'
import { countInStream } from './support/stream'

const bindings = env as unknown as { BRIDGE_URL: string; DATABASE_URL: string; PG_WS_PROXY: string }

/** Round trips to the database under this application_name, as the local SQL-over-HTTP endpoint counts them. */
const sqlCalls = async (applicationName: string): Promise<number> => {
  const res = await fetch(`http://${bindings.PG_WS_PROXY}/stats?key=${encodeURIComponent(applicationName)}`)
  return ((await res.json()) as { sql_calls: number }).sql_calls
}

const databaseUrlNamed = (applicationName: string) => {
  const url = new URL(bindings.DATABASE_URL)
  url.searchParams.set('application_name', applicationName)
  return url.toString()
}

interface Post {
  events: LibraryEvent[]
  status?: number
}

/**
 * Watches the Worker's posts to the bridge. `intercept` may answer a post itself (a refusal), or
 * return a promise the post waits for before it goes out (a slow delivery).
 */
const watchBridge = (intercept: (events: LibraryEvent[]) => Response | Promise<void> | undefined) => {
  const posts: Post[] = []
  const realFetch = globalThis.fetch
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const target = input instanceof Request ? input.url : String(input)
    if (!target.startsWith(bindings.BRIDGE_URL) || new URL(target).pathname !== '/v1/events')
      return realFetch(input, init)
    const { events } = JSON.parse(String(init?.body)) as { events: LibraryEvent[] }
    const post: Post = { events }
    posts.push(post)
    const answer = intercept(events)
    if (answer instanceof Response) {
      post.status = answer.status
      return answer
    }
    await answer
    const res = await realFetch(input, init)
    post.status = res.status
    return res
  })
  return { posts, restore: () => spy.mockRestore() }
}

let restoreBridge: (() => void) | undefined
afterEach(() => {
  restoreBridge?.()
  restoreBridge = undefined
})

/** Sends a request and returns its response without waiting for its post-commit delivery (`done`). */
const begin = async (path: string, options: Pick<CallOptions, 'method' | 'json' | 'env'> = {}) => {
  const ctx = createExecutionContext()
  const body = options.json === undefined ? undefined : JSON.stringify(options.json)
  const res = await worker.fetch(
    new Request(`http://functions.test${path}`, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${TEST_API_KEYS.writer.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
    }),
    testEnv(options.env),
    ctx,
  )
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk untyped response JSON
  const json = (await res.json()) as any
  return { status: res.status, body: json, done: () => waitOnExecutionContext(ctx) }
}

const registration = (name: string) => ({
  name,
  type: 'strategy',
  version: '1.0.0',
  config: { symbols: ['AAPL'] },
})

const isRegistrationOf = (name: string) => (e: LibraryEvent) =>
  e.event_type === 'entity.registered' && (e as { entity_name?: string }).entity_name === name

const postsCarrying = (posts: readonly Post[], eventId: string) =>
  posts.flatMap((p, i) => (p.events.some((e) => e.event_id === eventId) ? [i] : []))

describe('events held back at commit behind their entity’s event in flight', () => {
  it('go out right after it, in order, without the drain', async () => {
    const name = uniqueName('held-back')
    let release = () => {}
    const registeredInFlight = new Promise<void>((resolve) => {
      release = resolve
    })
    const bridge = watchBridge((events) =>
      events.some(isRegistrationOf(name)) ? registeredInFlight : undefined,
    )
    restoreBridge = bridge.restore

    const created = await begin('/api/v1/entities', { json: registration(name) })
    expect(created.status).toBe(201)
    const id: string = created.body.id
    // while entity.registered is still on its way to the bridge, two more changes of the entity commit
    const validated = await begin(`/api/v1/entities/${id}/validate`, { method: 'POST' })
    expect(validated.status).toBe(200)
    const patched = await begin(`/api/v1/entities/${id}`, { method: 'PATCH', json: { description: 'after' } })
    expect(patched.status).toBe(200)
    const rowsAtCommit = await outboxFor(id)
    expect(rowsAtCommit.map((r) => [r.event_type, r.delivered_at])).toEqual([
      ['entity.registered', null],
      ['entity.validated', null],
      ['entity.updated', null],
    ])

    release()
    await Promise.all([created.done(), validated.done(), patched.done()])

    const rows = await outboxFor(id)
    expect(rows.map((r) => r.event_type)).toEqual(['entity.registered', 'entity.validated', 'entity.updated'])
    for (const row of rows) {
      expect(row.delivered_at).not.toBeNull()
      expect(row.last_error).toBeNull()
      expect(row.attempts).toBe(1)
    }
    const seqs = rows.map((r) => Number(r.stream_seq))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    // each was posted once, none ahead of the one before it
    const carrying = rows.map((r) => postsCarrying(bridge.posts, r.event_id))
    expect(carrying.map((p) => p.length)).toEqual([1, 1, 1])
    const postOrder = carrying.map((p) => p[0]!)
    expect(postOrder).toEqual([...postOrder].sort((a, b) => a - b))
    expect(await countInStream(rows.map((r) => r.event_id))).toEqual(
      Object.fromEntries(rows.map((r) => [r.event_id, 1])),
    )
  })

  it('stay behind an event the bridge refuses, and are left to the drain', async () => {
    const name = uniqueName('held-back-refused')
    const bridge = watchBridge((events) =>
      events.some(isRegistrationOf(name)) ? new Response(null, { status: 503 }) : undefined,
    )
    restoreBridge = bridge.restore

    const created = await begin('/api/v1/entities', { json: registration(name) })
    expect(created.status).toBe(201)
    await created.done()
    const id: string = created.body.id
    const applicationName = uniqueName('held-back-refused')
    const validated = await begin(`/api/v1/entities/${id}/validate`, {
      method: 'POST',
      env: { DATABASE_URL: databaseUrlNamed(applicationName) },
    })
    expect(validated.status).toBe(200)
    await validated.done()
    // the read, the write, and one look that finds the older event waiting for its backoff
    expect(await sqlCalls(applicationName)).toBe(3)

    const [registered, validatedRow] = await outboxFor(id)
    expect(registered!.delivered_at).toBeNull()
    expect(registered!.last_error).toMatch(/503/)
    // never posted ahead of the refused event, never touched: the drain has it, as if never retried
    expect(validatedRow!.event_type).toBe('entity.validated')
    expect(postsCarrying(bridge.posts, validatedRow!.event_id)).toEqual([])
    expect(validatedRow!.delivered_at).toBeNull()
    expect(validatedRow!.attempts).toBe(0)
    expect(await countInStream([validatedRow!.event_id])).toEqual({ [validatedRow!.event_id]: 0 })

    bridge.restore()
    restoreBridge = undefined
    await query(`update outbox set next_attempt_at = now() where entity_key = $1 and delivered_at is null`, [
      id,
    ])
    await runScheduled()
    const rows = await outboxFor(id)
    expect(rows.every((r) => r.delivered_at !== null)).toBe(true)
    expect(Number(rows[0]!.stream_seq)).toBeLessThan(Number(rows[1]!.stream_seq))
  })
})
