import { inject } from 'vitest'

export interface StreamMessage {
  seq: number
  /** The SSE event name: the event type derived from the NATS subject. */
  event: string
  data: Record<string, unknown>
}

const bridge = () => ({ url: inject('bridgeUrl'), token: inject('bridgeAdminToken') })

/**
 * Reads `count` messages of the LIBRARY_EVENTS stream matching `subject` after stream sequence
 * `afterSeq`, through the bridge's SSE endpoint (a JetStream ordered consumer underneath).
 */
export const readStream = async (
  subject: string,
  afterSeq: number,
  count: number,
  timeoutMs = 20_000,
): Promise<StreamMessage[]> => {
  const { url, token } = bridge()
  const res = await fetch(`${url}/v1/subscribe?subject=${encodeURIComponent(subject)}&from=${afterSeq}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  })
  if (res.status !== 200 || !res.body)
    throw new Error(`subscribe answered ${res.status}: ${await res.text()}`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const messages: StreamMessage[] = []
  let buffer = ''
  try {
    while (messages.length < count) {
      const { done, value } = await reader.read()
      if (done) throw new Error(`stream ended after ${messages.length} of ${count} messages`)
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end !== -1 && messages.length < count) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
        const fields: Record<string, string> = {}
        for (const line of frame.split('\n')) {
          const m = /^(id|event|data): ?(.*)$/.exec(line)
          if (m) fields[m[1]!] = fields[m[1]!] === undefined ? m[2]! : `${fields[m[1]!]}\n${m[2]}`
        }
        if (fields.id === undefined || fields.data === undefined) continue
        messages.push({ seq: Number(fields.id), event: fields.event ?? '', data: JSON.parse(fields.data) })
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return messages
}

/** The message stored at `seq`, read through a consumer filtered on `subject`: proves it is on that subject. */
export const messageAt = async (subject: string, seq: number): Promise<StreamMessage> => {
  const [message] = await readStream(subject, seq - 1, 1)
  if (!message || message.seq !== seq) {
    throw new Error(`no message at seq ${seq} on ${subject} (next one is ${message?.seq})`)
  }
  return message
}

/** The stream's last sequence as the bridge reports it. */
export const lastStreamSeq = async (): Promise<number> => {
  const { url, token } = bridge()
  // With a token the bridge reads the stream now instead of serving its anonymous snapshot.
  const res = await fetch(`${url}/health/detailed`, { headers: { authorization: `Bearer ${token}` } })
  const body = (await res.json()) as { stream?: { info?: { last_seq?: number } | null } }
  const seq = body.stream?.info?.last_seq
  if (typeof seq !== 'number') throw new Error('bridge did not report the stream sequence')
  return seq
}

/** How many stream messages carry each of `eventIds`, scanning the whole stream. */
export const countInStream = async (eventIds: readonly string[]): Promise<Record<string, number>> => {
  const last = await lastStreamSeq()
  const counts: Record<string, number> = Object.fromEntries(eventIds.map((id) => [id, 0]))
  let after = 0
  while (after < last) {
    const batch = await readStream('library.>', after, Math.min(200, last - after))
    for (const m of batch) {
      const id = m.data.event_id
      if (typeof id === 'string' && id in counts) counts[id]! += 1
    }
    after = batch[batch.length - 1]!.seq
  }
  return counts
}
