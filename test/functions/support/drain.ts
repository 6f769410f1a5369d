import { expect } from 'vitest'
import { outboxFor, query } from './database'
import { runScheduled } from './scheduled'

/**
 * Makes the entity's undelivered outbox events due, runs the drain once and checks that it
 * delivered all of them, to stream sequences in outbox order.
 */
export const expectDrainDeliversInOutboxOrder = async (entityId: string) => {
  await query(`update outbox set next_attempt_at = now() where entity_key = $1 and delivered_at is null`, [
    entityId,
  ])
  await runScheduled()
  const delivered = await outboxFor(entityId)
  expect(delivered.every((r) => r.delivered_at !== null)).toBe(true)
  const seqs = delivered.map((r) => Number(r.stream_seq))
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
}
