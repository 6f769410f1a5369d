import { type JetStreamClient, type JetStreamManager, type JsMsg, headers as natsHeaders } from 'nats'
import { DEAD_LETTER_STREAM, deadLetterSubject, REPLAY_STREAM, replaySubject } from './store'

export const ORIGINAL_SUBJECT = 'Library-Original-Subject'
export const ORIGINAL_STREAM = 'Library-Original-Stream'
export const ORIGINAL_SEQ = 'Library-Original-Seq'
export const LAST_ERROR = 'Library-Last-Error'
export const ATTEMPTS = 'Library-Attempts'
export const DEAD_AT = 'Library-Dead-Lettered-At'

/** Where a message came from in the first place, also for one that went through a replay. */
export const originOf = (m: JsMsg): { subject: string; stream: string; seq: number } => {
  const h = m.headers
  const seq = Number(h?.get(ORIGINAL_SEQ))
  if (h?.get(ORIGINAL_SUBJECT) && Number.isInteger(seq) && seq > 0)
    return { subject: h.get(ORIGINAL_SUBJECT), stream: h.get(ORIGINAL_STREAM), seq }
  return { subject: m.subject, stream: m.info.stream, seq: m.seq }
}

const headerSafe = (text: string) => text.replace(/[\r\n]+/g, ' ').slice(0, 1000)

/** Stores `m` as a dead letter of subscription `name`; resolves once JetStream acked it. */
export const deadLetter = async (
  js: JetStreamClient,
  name: string,
  m: JsMsg,
  error: string,
  attempts: number,
): Promise<void> => {
  const origin = originOf(m)
  const h = natsHeaders()
  h.set(ORIGINAL_SUBJECT, origin.subject)
  h.set(ORIGINAL_STREAM, origin.stream)
  h.set(ORIGINAL_SEQ, String(origin.seq))
  h.set(LAST_ERROR, headerSafe(error))
  h.set(ATTEMPTS, String(attempts))
  h.set(DEAD_AT, new Date().toISOString())
  await js.publish(deadLetterSubject(name), m.data, {
    headers: h,
    // The message that died, not its origin: a replayed one may die again and must be kept again.
    msgID: `dlq:${name}:${m.info.stream}:${m.seq}`,
  })
}

export const countDeadLetters = async (jsm: JetStreamManager, name: string): Promise<number> => {
  const subject = deadLetterSubject(name)
  const info = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: subject })
  return info.state.subjects?.[subject] ?? 0
}

export const countPendingReplays = async (jsm: JetStreamManager, name: string): Promise<number> => {
  const subject = replaySubject(name)
  const info = await jsm.streams.info(REPLAY_STREAM, { subjects_filter: subject })
  return info.state.subjects?.[subject] ?? 0
}

/**
 * Moves every dead letter of `name` to its replay queue, which the delivery workers consume like
 * the event stream. Returns how many were moved.
 */
export const replayDeadLetters = async (
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
): Promise<number> => {
  const total = await countDeadLetters(jsm, name)
  if (total === 0) return 0
  const consumer = await js.consumers.get(DEAD_LETTER_STREAM, { filterSubjects: deadLetterSubject(name) })
  let moved = 0
  try {
    while (moved < total) {
      const m = await consumer.next({ expires: 5_000 })
      if (!m) break
      const h = natsHeaders()
      for (const [key, values] of m.headers ?? []) for (const value of values) h.append(key, value)
      await js.publish(replaySubject(name), m.data, { headers: h, msgID: `replay:${name}:${m.seq}` })
      await jsm.streams.deleteMessage(DEAD_LETTER_STREAM, m.seq, false)
      moved++
      if (m.info.pending === 0) break
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  return moved
}

export const purgeDeadLetters = async (jsm: JetStreamManager, name: string): Promise<void> => {
  await jsm.streams.purge(DEAD_LETTER_STREAM, { filter: deadLetterSubject(name) })
  await jsm.streams.purge(REPLAY_STREAM, { filter: replaySubject(name) })
}
