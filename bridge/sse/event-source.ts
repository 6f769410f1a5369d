import { DeliverPolicy, type JetStreamClient, type NatsConnection, type OrderedConsumerOptions } from 'nats'
import { subjectMatches } from '../../shared/subject-validation'
import { eventTypeForSubject, STREAM_NAME, STREAM_SUBJECTS } from '../../shared/subjects'
import { sharedEvents } from './shared-subscription'
import type { SseEvent } from './sse-connection'

/** Where a JetStream-backed stream starts. */
export type StartPosition =
  | { kind: 'new' }
  | { kind: 'all' }
  | { kind: 'after'; seq: number }
  | { kind: 'time'; time: Date }

export interface EventSource {
  kind: 'jetstream' | 'core'
  events: AsyncIterable<SseEvent>
  close(): Promise<void>
}

/** A pattern that matches any LIBRARY_EVENTS subject is served from the stream (events only). */
export const isStreamPattern = (pattern: string): boolean =>
  STREAM_SUBJECTS.some((s) => subjectMatches(pattern, s))

const eventName = (subject: string): string => eventTypeForSubject(subject) ?? subject

const startOptions = (start: StartPosition): Partial<OrderedConsumerOptions> => {
  switch (start.kind) {
    case 'new':
      return { deliver_policy: DeliverPolicy.New }
    // The ordered consumer keeps opt_start_seq alongside DeliverPolicy.All, which the server refuses.
    case 'all':
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 }
    case 'after':
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq + 1 }
    case 'time':
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() }
  }
}

export const openStreamSource = async (
  js: JetStreamClient,
  pattern: string,
  start: StartPosition,
  { inactiveThresholdMs = 30_000, batch = 256, openTimeoutMs = 10_000 } = {},
): Promise<EventSource> => {
  const consumer = await js.consumers.get(STREAM_NAME, {
    filterSubjects: pattern,
    inactive_threshold: inactiveThresholdMs,
    ...startOptions(start),
  })
  // The client retries a refused consumer creation for a long time; give up sooner and clean up later.
  const opening = consumer.consume({ max_messages: batch })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no consumer within ${openTimeoutMs} ms`)), openTimeoutMs)
  })
  const messages = await Promise.race([opening, timeout])
    .catch((err: unknown) => {
      void opening.then((m) => m.close()).catch(() => undefined)
      throw err
    })
    .finally(() => clearTimeout(timer))
  async function* events(): AsyncGenerator<SseEvent> {
    for await (const m of messages) {
      yield { id: String(m.seq), event: eventName(m.subject), data: m.string(), headers: m.headers }
    }
  }
  let closing: Promise<void> | undefined
  return {
    kind: 'jetstream',
    events: events(),
    close() {
      closing ??= (async () => {
        await messages.close().catch(() => undefined)
        await consumer.delete().catch(() => undefined)
      })()
      return closing
    },
  }
}

/**
 * A live core subscription. `deliverable` drops the messages this client may not see: a wildcard
 * pattern can overlap subjects the system keeps to itself (inboxes, `$JS`, requests).
 */
export const openCoreSource = async (
  nc: NatsConnection,
  pattern: string,
  { queue, deliverable = () => true }: { queue?: string; deliverable?: (subject: string) => boolean } = {},
): Promise<EventSource> => {
  if (queue === undefined) {
    const shared = sharedEvents(
      nc,
      pattern,
      (subject, data, headers) => ({ event: eventName(subject), data, headers }),
      deliverable,
    )
    await nc.flush()
    return { kind: 'core', events: shared.events, close: async () => shared.close() }
  }
  const sub = nc.subscribe(pattern, { queue })
  // The server registers the interest asynchronously; flush so events published after the
  // response headers reach this client.
  await nc.flush()
  async function* events(): AsyncGenerator<SseEvent> {
    for await (const m of sub) {
      if (deliverable(m.subject)) yield { event: eventName(m.subject), data: m.string(), headers: m.headers }
    }
  }
  return {
    kind: 'core',
    events: events(),
    async close() {
      if (!sub.isClosed()) sub.unsubscribe()
    },
  }
}
