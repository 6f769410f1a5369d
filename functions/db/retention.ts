import type { Queryable } from './sql'

/** Deletes up to `limit` webhook receipts received more than `olderThanSeconds` ago; returns how many. */
export const pruneWebhookReceipts = async (
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
): Promise<number> => {
  const { rowCount } = await db.query(
    `delete from webhook_receipts r
      using (select source, webhook_id
               from webhook_receipts
              where received_at < now() - $1::int * interval '1 second'
              order by received_at
              limit $2
                for update skip locked) old
      where r.source = old.source and r.webhook_id = old.webhook_id`,
    [olderThanSeconds, limit],
  )
  return rowCount ?? 0
}

/** Deletes up to `limit` outbox rows delivered more than `olderThanDays` ago; pending rows are never touched. */
export const pruneDeliveredOutbox = async (
  db: Queryable,
  olderThanDays: number,
  limit: number,
): Promise<number> => {
  const { rowCount } = await db.query(
    `delete from outbox
      where id in (select id
                     from outbox
                    where delivered_at < now() - $1::int * interval '1 day'
                    order by delivered_at
                    limit $2
                      for update skip locked)`,
    [olderThanDays, limit],
  )
  return rowCount ?? 0
}

/** Deletes up to `limit` answered Idempotency-Key records completed more than `olderThanHours` ago. */
export const pruneIdempotencyKeys = async (
  db: Queryable,
  olderThanHours: number,
  limit: number,
): Promise<number> => {
  const { rowCount } = await db.query(
    `delete from swap_idempotency_keys k
      using (select actor, key
               from swap_idempotency_keys
              where completed_at < now() - $1::int * interval '1 hour'
              order by completed_at
              limit $2
                for update skip locked) old
      where k.actor = old.actor and k.key = old.key`,
    [olderThanHours, limit],
  )
  return rowCount ?? 0
}
