import * as v from 'valibot'
import { expect } from 'vitest'
import type { EventType } from '../../../shared/event-types'
import { EVENT_SCHEMAS } from '../../../shared/events'
import { subjectFor } from '../../../shared/subjects'
import { TEST_API_KEYS } from './api-keys'
import type { Json } from './call'
import { outboxFor } from './database'
import { messageAt } from './stream'

/** Fields the original spec's pydantic models require, beyond the base envelope. */
const ORIGINAL_BASE = [
  'event_id',
  'event_type',
  'timestamp',
  'source',
  'entity_id',
  'deployment_id',
  'swap_id',
  'data',
  'metadata',
]
const ORIGINAL_REQUIRED: Partial<Record<EventType, string[]>> = {
  'entity.registered': ['entity_id', 'entity_name', 'entity_type', 'version'],
  'deployment.completed': ['entity_id', 'deployment_id', 'environment', 'version'],
}

/**
 * Checks the outbox row of `eventId` was delivered, then reads the message at its stream sequence
 * through a consumer filtered on the event's subject and checks it field by field.
 */
export const expectDelivered = async (entityKey: string, eventType: EventType) => {
  const rows = (await outboxFor(entityKey)).filter((r) => r.event_type === eventType)
  expect(rows).toHaveLength(1)
  const row = rows[0]!
  expect(row.delivered_at).not.toBeNull()
  expect(row.stream_seq).not.toBeNull()
  expect(row.subject).toBe(subjectFor(eventType))
  const message = await messageAt(subjectFor(eventType), Number(row.stream_seq))
  expect(message.event).toBe(eventType)
  expect(message.data).toEqual(row.payload)
  // exactly the contract: the per-type schema is strict, so an unknown top-level field fails
  const parsed = v.safeParse(EVENT_SCHEMAS[eventType], message.data)
  expect(parsed.success, JSON.stringify(parsed.issues)).toBe(true)
  expect(Object.keys(message.data).sort()).toEqual(
    Object.keys(v.parse(EVENT_SCHEMAS[eventType], message.data)).sort(),
  )
  for (const field of [...ORIGINAL_BASE, ...(ORIGINAL_REQUIRED[eventType] ?? [])]) {
    expect(message.data, `field ${field}`).toHaveProperty(field)
  }
  expect(message.data.source).toBe('library_service')
  expect(message.data.metadata).toMatchObject({ actor: TEST_API_KEYS.writer.name })
  return message.data as Record<string, Json>
}
