import type { MsgHdrs, NatsConnection, Subscription } from 'nats'
import type { SseEvent } from './sse-connection'

interface Listener {
  push(event: SseEvent, subject: string): void
  end(err?: Error): void
}

interface Shared {
  sub: Subscription
  listeners: Set<Listener>
}

const registry = new WeakMap<NatsConnection, Map<string, Shared>>()

/**
 * A per-client iterable over one NATS subscription shared by every client of the same pattern
 * (no queue group): the server sends each message to the bridge once, not once per client.
 * Each client sees only the subjects its own `deliverable` accepts.
 */
export const sharedEvents = (
  nc: NatsConnection,
  pattern: string,
  toEvent: (subject: string, data: string, headers: MsgHdrs | undefined) => SseEvent,
  deliverable: (subject: string) => boolean = () => true,
): { events: AsyncIterable<SseEvent>; close(): void } => {
  let byPattern = registry.get(nc)
  if (!byPattern) {
    byPattern = new Map()
    registry.set(nc, byPattern)
  }
  let shared = byPattern.get(pattern)
  if (!shared) {
    const listeners = new Set<Listener>()
    const sub = nc.subscribe(pattern, {
      callback: (err, m) => {
        if (err) {
          for (const l of [...listeners]) l.end(err)
          return
        }
        const event = toEvent(m.subject, m.string(), m.headers)
        for (const l of listeners) l.push(event, m.subject)
      },
    })
    const entry: Shared = { sub, listeners }
    void sub.closed.then(() => {
      if (byPattern.get(pattern) === entry) byPattern.delete(pattern)
      for (const l of [...listeners]) l.end()
    })
    shared = entry
    byPattern.set(pattern, shared)
  }
  const { sub, listeners } = shared

  const queue: SseEvent[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const listener: Listener = {
    push(event, subject) {
      if (!deliverable(subject)) return
      queue.push(event)
      wake?.()
    },
    end(err) {
      ended = true
      failure = err
      listeners.delete(listener)
      wake?.()
    },
  }
  listeners.add(listener)

  const close = () => {
    if (!listeners.delete(listener)) return
    ended = true
    wake?.()
    if (listeners.size === 0 && !sub.isClosed()) {
      byPattern.delete(pattern)
      sub.unsubscribe()
    }
  }
  async function* events(): AsyncGenerator<SseEvent> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (ended) {
        if (failure) throw failure
        return
      }
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
  }
  return { events: events(), close }
}
