import { describe, expect, it } from 'vitest'
import { swapOutcomeEventId } from '../../shared/swap-execution'
import { generateWebhookSecret, webhookHeaders } from '../../shared/webhook-signing'
import { call } from './support/call'
import { query } from './support/database'
import { strategy } from './support/entities'

const FORWARD_TOKEN = 'forward-token-workers-0123456789'
const asBridge = { key: FORWARD_TOKEN, env: { FORWARD_TOKEN } }

const insertSwap = async (from: string, to: string, status: string) => {
  const id = crypto.randomUUID()
  await query(
    `insert into swaps (id, from_entity_id, to_entity_id, reason, initiated_by, status, actor)
     values ($1, $2, $3, 'test', 'tests', $4, 'test-writer')`,
    [id, from, to, status],
  )
  return id
}

const lateEvent = async (swapId: string, type: 'swap.completed' | 'swap.failed') => ({
  event_id: await swapOutcomeEventId(swapId, type),
  event_type: type,
  timestamp: new Date().toISOString(),
  source: 'library-swap-executor',
  swap_id: swapId,
  data:
    type === 'swap.failed'
      ? { message: 'executor crashed', status: 'failed' }
      : { status: 'completed', message: 'ok' },
})

describe('/internal/swap/validate', () => {
  it('measures its size limit in bytes, not characters', async () => {
    const res = await call('/internal/swap/validate', {
      ...asBridge,
      json: {
        from_entity_id: crypto.randomUUID(),
        to_entity_id: crypto.randomUUID(),
        note: 'é'.repeat(40_000),
      },
    })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('payload_too_large')
  })

  it('answers valid, or not valid with the failed checks, without recording anything', async () => {
    const [from, to, unvalidated] = [await strategy(), await strategy(), await strategy({ validate: false })]
    const [{ n: before }] = (await query<{ n: number }>('select count(*)::int as n from swaps')) as [
      { n: number },
    ]

    const ok = await call('/internal/swap/validate', {
      ...asBridge,
      json: { from_entity_id: from, to_entity_id: to },
    })
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ valid: true, message: 'Swap validation passed' })
    expect(ok.body.validation_results.checks.every((c: { passed: boolean }) => c.passed)).toBe(true)

    const cases: Array<[unknown, string]> = [
      [{ from_entity_id: from, to_entity_id: from }, 'same_entity'],
      [{ from_entity_id: from, to_entity_id: unvalidated }, 'target_not_validated'],
      [{ from_entity_id: from, to_entity_id: crypto.randomUUID() }, 'entity_not_found'],
    ]
    for (const [json, code] of cases) {
      const res = await call('/internal/swap/validate', { ...asBridge, json })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ valid: false, validation_results: { error_code: code } })
    }
    const malformed = await call('/internal/swap/validate', {
      ...asBridge,
      json: { from_entity: 'a', to_entity: 'b' },
    })
    expect(malformed.body).toMatchObject({ valid: false, message: 'The swap request is not valid' })
    expect((await query<{ n: number }>('select count(*)::int as n from swaps'))[0]!.n).toBe(before)
  })

  it('accepts only the forward token', async () => {
    const body = { from_entity_id: crypto.randomUUID(), to_entity_id: crypto.randomUUID() }
    expect((await call('/internal/swap/validate', { json: body, env: { FORWARD_TOKEN } })).status).toBe(401)
    expect(
      (
        await call('/internal/swap/validate', {
          json: body,
          key: `${FORWARD_TOKEN}x`,
          env: { FORWARD_TOKEN },
        })
      ).status,
    ).toBe(401)
    expect((await call('/internal/swap/validate', { json: body, key: FORWARD_TOKEN })).status).toBe(503)
  })
})

describe('signed forwards', () => {
  it('accepts a Standard Webhooks signature made with FORWARD_SIGNING_SECRET, and nothing else', async () => {
    const secret = generateWebhookSecret()
    const body = JSON.stringify({ from_entity_id: crypto.randomUUID(), to_entity_id: crypto.randomUUID() })
    const env = { FORWARD_SIGNING_SECRET: secret }
    const headers = await webhookHeaders({ secret, id: `msg_${crypto.randomUUID()}`, body })
    const signed = await call('/internal/swap/validate', {
      key: null,
      env,
      body,
      headers: { ...headers, 'content-type': 'application/json' },
    })
    expect(signed.status).toBe(200)
    expect(signed.body).toMatchObject({
      valid: false,
      validation_results: { error_code: 'entity_not_found' },
    })
    const tampered = await call('/internal/swap/validate', {
      key: null,
      env,
      body: body.replace('"from', '"xfrom'),
      headers: { ...headers, 'content-type': 'application/json' },
    })
    expect(tampered.status).toBe(401)
    const other = await webhookHeaders({ secret: generateWebhookSecret(), id: 'msg_other', body })
    expect((await call('/internal/swap/validate', { key: null, env, body, headers: other })).status).toBe(401)
  })
})

describe('/internal/swap/events', () => {
  it('settles a swap left unknown once, and leaves settled swaps alone', async () => {
    const [from, to] = [await strategy(), await strategy()]
    const unknown = await insertSwap(from, to, 'unknown')
    const event = await lateEvent(unknown, 'swap.failed')

    const first = await call('/internal/swap/events', { ...asBridge, json: event })
    expect(first.body).toEqual({ settled: true, swap_id: unknown, status: 'failed' })
    const again = await call('/internal/swap/events', { ...asBridge, json: event })
    expect(again.body).toEqual({ settled: false, swap_id: unknown, status: 'failed' })
    const stored = await call(`/api/v1/swaps/${unknown}`)
    expect(stored.body).toMatchObject({
      status: 'failed',
      message: 'executor crashed',
      error_code: 'executor_failed',
    })
    const rows = await query<{ event_id: string }>(`select event_id from outbox where entity_key = $1`, [
      unknown,
    ])
    expect(rows.map((r) => r.event_id)).toEqual([event.event_id])

    const completed = await insertSwap(from, to, 'completed')
    const late = await call('/internal/swap/events', {
      ...asBridge,
      json: await lateEvent(completed, 'swap.failed'),
    })
    expect(late.body).toEqual({ settled: false, swap_id: completed, status: 'completed' })
    expect((await call(`/api/v1/swaps/${completed}`)).body.status).toBe('completed')
  })

  it('ignores other events and rejects what is not an event', async () => {
    const other = await call('/internal/swap/events', {
      ...asBridge,
      json: {
        event_id: crypto.randomUUID(),
        event_type: 'health.degraded',
        timestamp: new Date().toISOString(),
        source: 'monitor',
        data: { component: 'x', status: 'degraded' },
      },
    })
    expect(other.status).toBe(202)
    expect(
      (await call('/internal/swap/events', { ...asBridge, json: { event_type: 'swap.completed' } })).status,
    ).toBe(400)
  })
})

describe('GET /api/v1/swaps', () => {
  it('lists swaps filtered by entity and status, with a cursor', async () => {
    const [from, a, b] = [await strategy(), await strategy(), await strategy()]
    const first = await insertSwap(from, a, 'completed')
    const second = await insertSwap(from, b, 'failed')
    const page = await call(`/api/v1/swaps?entity_id=${from}&limit=1`)
    expect(page.body.items.map((s: { swap_id: string }) => s.swap_id)).toEqual([first])
    const next = await call(`/api/v1/swaps?entity_id=${from}&limit=1&cursor=${page.body.next_cursor}`)
    expect(next.body.items.map((s: { swap_id: string }) => s.swap_id)).toEqual([second])
    expect(next.body.next_cursor).toBeNull()
    const failed = await call(`/api/v1/swaps?entity_id=${from}&status=failed`)
    expect(failed.body.items.map((s: { swap_id: string }) => s.swap_id)).toEqual([second])
    expect((await call('/api/v1/swaps?status=bogus')).status).toBe(400)
  })
})
