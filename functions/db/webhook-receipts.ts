import type { Queryable } from './sql'

export interface ReceiptKey {
  source: string
  webhookId: string
}

export type Claim = { claimed: true } | { claimed: false; status: number; body: unknown }

/**
 * Records a webhook-id for its source inside the caller's transaction. A concurrent claim of the
 * same id waits on the primary key until this transaction ends: after a commit it sees the stored
 * response, after a rollback it wins the claim itself.
 */
export const claimReceipt = async (db: Queryable, key: ReceiptKey & { type: string }): Promise<Claim> => {
  const inserted = await db.query(
    `insert into webhook_receipts (source, webhook_id, webhook_type) values ($1, $2, $3)
     on conflict (source, webhook_id) do nothing
     returning 1`,
    [key.source, key.webhookId, key.type],
  )
  if (inserted.rows.length > 0) return { claimed: true }
  const existing = await db.query<{ response_status: number | null; response_body: unknown }>(
    'select response_status, response_body from webhook_receipts where source = $1 and webhook_id = $2',
    [key.source, key.webhookId],
  )
  const row = existing.rows[0]
  return { claimed: false, status: row?.response_status ?? 200, body: row?.response_body ?? {} }
}

export const recordResponse = async (
  db: Queryable,
  key: ReceiptKey & { status: number; body: unknown },
): Promise<void> => {
  await db.query(
    'update webhook_receipts set response_status = $3, response_body = $4 where source = $1 and webhook_id = $2',
    [key.source, key.webhookId, key.status, JSON.stringify(key.body)],
  )
}
