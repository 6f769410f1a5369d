import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../functions/db/sql'
import type { Config } from '../../functions/env'
import { beginSwap, finishSwap } from '../../functions/services/swaps'
import { swapOutcomeEventId } from '../../shared/swap-execution'
import { TEST_API_KEYS } from './support/api-keys'
import { call } from './support/call'
import { query } from './support/database'
import { strategy } from './support/entities'
import { runScheduled } from './support/scheduled'

const FORWARD_TOKEN = 'forward-token-workers-0123456789'

const ctx = () => ({ actor: TEST_API_KEYS.writer.name, requestId: crypto.randomUUID() })

const withDb = async <T>(fn: (db: ReturnType<typeof createDb>) => Promise<T>) => {
  const db = createDb(env as unknown as Pick<Config, 'DATABASE_URL' | 'PG_WS_PROXY'>)
  try {
    return await fn(db)
  } finally {
    await db.end()
  }
}

/**
 * What a POST /swaps leaves behind when its Worker dies between recording the swap and hearing
 * from the executor: the swap pending, the Idempotency-Key claimed without a response.
 */
const abandonedSwap = async (key: string, ageMinutes: number) => {
  const [from, to] = [await strategy(), await strategy()]
  const body = { from_entity_id: from, to_entity_id: to, reason: 'rotation', initiated_by: 'workers-tests' }
  const start = await withDb((db) => beginSwap(db, { ...body, validate_only: false }, ctx(), key))
  if (start.kind !== 'started') throw new Error(`swap not started: ${start.kind}`)
  const swapId = start.swap.id
  await query(`update swaps set created_at = now() - $2::int * interval '1 minute' where id = $1`, [
    swapId,
    ageMinutes,
  ])
  await query(
    `update swap_idempotency_keys set created_at = now() - $2::int * interval '1 minute' where swap_id = $1`,
    [swapId, ageMinutes],
  )
  return { swapId, body, swap: start.swap }
}

const swapRow = async (id: string) =>
  (
    await query<{ status: string; error_code: string | null }>(
      'select status, error_code from swaps where id = $1',
      [id],
    )
  )[0]!

describe('swaps whose request died mid-relay', () => {
  it('become unknown; a retry gets the stored 504 instead of 409 forever; a late outcome settles them', async () => {
    const key = `stuck-${crypto.randomUUID()}`
    const { swapId, body } = await abandonedSwap(key, 5)

    await runScheduled()
    expect(await swapRow(swapId)).toEqual({ status: 'unknown', error_code: 'timeout' })

    const retry = await call('/api/v1/swaps', { json: body, headers: { 'idempotency-key': key } })
    expect(retry.status).toBe(504)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(retry.body.error).toMatchObject({
      code: 'timeout',
      details: { swap_id: swapId, status: 'unknown' },
    })
    // nothing relayed again: still the one swap between the two entities
    const swaps = await query('select id from swaps where from_entity_id = $1', [body.from_entity_id])
    expect(swaps).toEqual([{ id: swapId }])

    const late = await call('/internal/swap/events', {
      key: FORWARD_TOKEN,
      env: { FORWARD_TOKEN },
      json: {
        event_id: await swapOutcomeEventId(swapId, 'swap.completed'),
        event_type: 'swap.completed',
        timestamp: new Date().toISOString(),
        source: 'library-swap-executor',
        swap_id: swapId,
        data: { status: 'completed', message: 'done after all' },
      },
    })
    expect(late.status).toBe(200)
    expect(await swapRow(swapId)).toEqual({ status: 'completed', error_code: null })
  })

  it('leaves a swap alone while its request may still be running', async () => {
    const key = `young-${crypto.randomUUID()}`
    const { swapId } = await abandonedSwap(key, 0)
    await runScheduled()
    expect((await swapRow(swapId)).status).toBe('pending')
    const [record] = await query<{ status_code: number | null }>(
      'select status_code from swap_idempotency_keys where swap_id = $1',
      [swapId],
    )
    expect(record!.status_code).toBeNull()
  })

  it('still takes the answer of a request that was only slow', async () => {
    const key = `slow-${crypto.randomUUID()}`
    const { swapId, swap, body } = await abandonedSwap(key, 5)
    await runScheduled()
    expect((await swapRow(swapId)).status).toBe('unknown')

    const response = {
      swap_id: swapId,
      status: 'completed',
      success: true,
      message: 'swapped',
      validation_results: null,
    }
    await withDb((db) => finishSwap(db, swap, { kind: 'reply', response }, ctx(), key))
    expect((await swapRow(swapId)).status).toBe('completed')
    const retry = await call('/api/v1/swaps', { json: body, headers: { 'idempotency-key': key } })
    expect(retry.status).toBe(200)
    expect(retry.body).toEqual(response)
  })
})
