import { afterAll, describe, expect, it } from 'vitest'
import { generateWebhookSecret } from '../../shared/webhook-signing'
import { query } from './support/database'
import { runScheduled } from './support/scheduled'

const source = `retention-${crypto.randomUUID().slice(0, 8)}`
const entityKey = `retention-${crypto.randomUUID()}`

const addReceipt = async (ageMinutes: number) => {
  const id = `msg_${crypto.randomUUID()}`
  await query(
    `insert into webhook_receipts (source, webhook_id, webhook_type, received_at, response_status, response_body)
     values ($1, $2, 'health.degraded', now() - $3::int * interval '1 minute', 200, '{}')`,
    [source, id, ageMinutes],
  )
  return id
}

/** An outbox row delivered `deliveredDaysAgo` days ago, or still pending (null) and not yet due. */
const addOutboxRow = async (deliveredDaysAgo: number | null) => {
  const eventId = crypto.randomUUID()
  await query(
    `insert into outbox (event_id, event_type, subject, entity_key, payload, created_at, delivered_at, next_attempt_at)
     values ($1, 'entity.updated', 'library.entity.updated', $2, '{}',
             now() - interval '30 days',
             case when $3::int is null then null else now() - $3::int * interval '1 day' end,
             now() + interval '1 day')`,
    [eventId, entityKey, deliveredDaysAgo],
  )
  return eventId
}

/** An Idempotency-Key record answered `completedHoursAgo` hours ago, or still open (null). */
const addIdempotencyKey = async (completedHoursAgo: number | null) => {
  const key = `retention-${crypto.randomUUID()}`
  await query(
    `insert into swap_idempotency_keys (actor, key, request_hash, status_code, response, created_at, completed_at)
     values ('retention', $1, 'hash', 200, '{}', now() - interval '3 days',
             case when $2::int is null then null else now() - $2::int * interval '1 hour' end)`,
    [key, completedHoursAgo],
  )
  return key
}

const remainingKeys = async () =>
  (await query<{ key: string }>(`select key from swap_idempotency_keys where actor = 'retention'`)).map(
    (r) => r.key,
  )

const remainingReceipts = async () =>
  (
    await query<{ webhook_id: string }>('select webhook_id from webhook_receipts where source = $1', [source])
  ).map((r) => r.webhook_id)

const remainingOutbox = async () =>
  (await query<{ event_id: string }>('select event_id from outbox where entity_key = $1', [entityKey])).map(
    (r) => r.event_id,
  )

describe('retention in the Cron Trigger', () => {
  afterAll(async () => {
    await query('delete from outbox where entity_key = $1', [entityKey])
    await query('delete from webhook_receipts where source = $1', [source])
    await query(`delete from swap_idempotency_keys where actor = 'retention'`)
  })

  it('deletes Idempotency-Key records answered more than a day ago, never an open one', async () => {
    await addIdempotencyKey(30)
    const recent = await addIdempotencyKey(2)
    const open = await addIdempotencyKey(null)
    await runScheduled()
    expect((await remainingKeys()).sort()).toEqual([recent, open].sort())
  })

  it('deletes webhook receipts past twice the largest tolerance (at least an hour), and no others', async () => {
    await addReceipt(120)
    const ninetyMinutes = await addReceipt(90)
    const recent = await addReceipt(30)

    // tolerance 30 min: receipts are kept for the one-hour floor, so the 90-minute one goes too
    const shortTolerance = JSON.stringify({
      [source]: { secrets: [generateWebhookSecret()], allow: ['*'], tolerance_seconds: 1_800 },
    })
    // tolerance one hour: receipts are kept for two
    const longTolerance = JSON.stringify({
      [source]: { secrets: [generateWebhookSecret()], allow: ['*'], tolerance_seconds: 3_600 },
      other: { secrets: [generateWebhookSecret()], allow: ['*'], tolerance_seconds: 60 },
    })

    await runScheduled({ WEBHOOK_SOURCES: longTolerance })
    expect((await remainingReceipts()).sort()).toEqual([ninetyMinutes, recent].sort())

    await runScheduled({ WEBHOOK_SOURCES: shortTolerance })
    expect(await remainingReceipts()).toEqual([recent])
  })

  it('deletes outbox rows delivered before OUTBOX_RETENTION_DAYS, never a pending one', async () => {
    await addOutboxRow(8)
    const sixDays = await addOutboxRow(6)
    const yesterday = await addOutboxRow(1)
    const pending = await addOutboxRow(null)

    await runScheduled()
    expect((await remainingOutbox()).sort()).toEqual([sixDays, yesterday, pending].sort())

    await runScheduled({ OUTBOX_RETENTION_DAYS: '2' })
    expect((await remainingOutbox()).sort()).toEqual([yesterday, pending].sort())
  })

  it('deletes in batches until nothing old is left', async () => {
    await query(
      `insert into outbox (event_id, event_type, subject, entity_key, payload, delivered_at)
       select gen_random_uuid(), 'entity.updated', 'library.entity.updated', $1, '{}', now() - interval '10 days'
         from generate_series(1, 1200)`,
      [entityKey],
    )
    const kept = await addOutboxRow(1)
    await runScheduled()
    const [old] = await query<{ n: number }>(
      `select count(*)::int as n from outbox where entity_key = $1 and delivered_at < now() - interval '7 days'`,
      [entityKey],
    )
    expect(old!.n).toBe(0)
    expect(await remainingOutbox()).toContain(kept)
  })
})
