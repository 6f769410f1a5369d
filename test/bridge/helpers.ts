import { randomUUID } from 'node:crypto'
import { connect, type JsMsg, type Msg, type NatsConnection } from 'nats'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { STREAM_NAME } from '../../shared/subjects'

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef'

export const bearer = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` })
export const jsonHeaders = (token = ADMIN_TOKEN) => ({ ...bearer(token), 'content-type': 'application/json' })

export const entityRegistered = (name = `strategy-${randomUUID().slice(0, 8)}`): LibraryEvent =>
  createEvent({
    event_type: 'entity.registered',
    entity_id: randomUUID(),
    entity_name: name,
    entity_type: 'strategy',
    version: '1.0.0',
    data: { description: 'test strategy' },
  })

export const healthDegraded = (): LibraryEvent =>
  createEvent({ event_type: 'health.degraded', data: { component: 'bridge-test', status: 'degraded' } })

export interface PublishResponse {
  results: Array<{ event_id: string; stream: string; seq: number; duplicate: boolean }>
}

export const postEvents = async (
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = jsonHeaders(),
) => fetch(`${baseUrl}/v1/events`, { method: 'POST', headers, body: JSON.stringify(body) })

export const natsClient = (url: string | string[]): Promise<NatsConnection> =>
  connect({ servers: url, name: 'bridge-test-client' })

/** Every message currently in the stream, oldest first, read with an ordered consumer. */
export const readStream = async (nc: NatsConnection): Promise<JsMsg[]> => {
  const jsm = await nc.jetstreamManager()
  const { state } = await jsm.streams.info(STREAM_NAME)
  if (state.messages === 0) return []
  const consumer = await nc.jetstream().consumers.get(STREAM_NAME)
  const out: JsMsg[] = []
  while (out.length < state.messages) {
    const batch = await consumer.fetch({ max_messages: state.messages - out.length, expires: 2_000 })
    let received = 0
    for await (const msg of batch) {
      out.push(msg)
      received++
    }
    if (received === 0) break
  }
  return out
}

export const decodeJson = (data: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(data))

/** Records every message on `>` (the whole account) from the moment it is flushed. */
export const startWiretap = async (nc: NatsConnection) => {
  const seen: Msg[] = []
  const sub = nc.subscribe('>', { callback: (_err, msg) => seen.push(msg) })
  await nc.flush()
  return {
    seen,
    subjects: () => seen.map((m) => m.subject),
    /** Lets anything in flight arrive, then stops listening. */
    stop: async () => {
      await nc.flush()
      sub.unsubscribe()
    },
  }
}
