import { randomUUID } from 'node:crypto'
import { connect, type Msg, type MsgHdrs, type NatsConnection } from 'nats'
import { createEvent, type LibraryEvent } from '../../../shared/events'
import { STREAM_NAME } from '../../../shared/subjects'

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

export type { PublishAccepted as PublishResponse } from '../../../shared/bridge-contract'

export const postEvents = async (
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = jsonHeaders(),
) => fetch(`${baseUrl}/v1/events`, { method: 'POST', headers, body: JSON.stringify(body) })

export const natsClient = (url: string | string[]): Promise<NatsConnection> =>
  connect({ servers: url, name: 'bridge-test-client' })

export interface StoredMessage {
  seq: number
  subject: string
  data: Uint8Array
  headers: MsgHdrs | undefined
}

/** Every message currently in the stream, oldest first, fetched one by one by sequence. */
export const readStream = async (nc: NatsConnection): Promise<StoredMessage[]> => {
  const jsm = await nc.jetstreamManager()
  const { state } = await jsm.streams.info(STREAM_NAME)
  const out: StoredMessage[] = []
  if (state.messages === 0) return out
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(STREAM_NAME, { seq })
    out.push({ seq: msg.seq, subject: msg.subject, data: msg.data, headers: msg.header })
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
