import { describe, expect, it } from 'vitest'
import { bufferUntilCommit, type OutboxListener } from '../../functions/outbox/dispatch'
import { createEvent, type LibraryEvent } from '../../shared/events'

const event = () =>
  createEvent({
    event_type: 'entity.deleted',
    entity_id: crypto.randomUUID(),
    data: { reason: 'gone' },
  })

const recorder = () => {
  const calls: { ids: string[]; ready?: readonly string[] }[] = []
  const listener: OutboxListener = {
    recorded: (events: readonly LibraryEvent[], ready?: readonly string[]) => {
      calls.push({ ids: events.map((e) => e.event_id), ready })
    },
  }
  return { calls, listener }
}

describe('a transaction reports its outbox writes', () => {
  it('only once it has committed, all together and without a ready list (their order is the claim path’s)', () => {
    const target = recorder()
    const tx = bufferUntilCommit(target.listener)
    const [a, b] = [event(), event()]
    tx.listener.recorded([a], [a.event_id])
    tx.listener.recorded([b])
    expect(target.calls).toEqual([])
    tx.flush()
    expect(target.calls).toEqual([{ ids: [a.event_id, b.event_id], ready: undefined }])
  })

  it('never when it does not commit, nor when it wrote nothing', () => {
    const target = recorder()
    bufferUntilCommit(target.listener).listener.recorded([event()])
    bufferUntilCommit(target.listener).flush()
    expect(target.calls).toEqual([])
  })
})
