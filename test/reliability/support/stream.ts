import { connect } from 'nats'
import type { LibraryEvent } from '../../../shared/events'
import { readStream } from '../../bridge/support/bridge-client'

/** Every event in LIBRARY_EVENTS, decoded, with its Nats-Msg-Id. */
export const streamEvents = async (servers: string | string[]) => {
  const nc = await connect({ servers, name: 'reliability-reader' })
  try {
    const decoder = new TextDecoder()
    return (await readStream(nc)).map((m) => ({
      msgId: m.headers?.get('Nats-Msg-Id') ?? '',
      seq: m.seq,
      event: JSON.parse(decoder.decode(m.data)) as LibraryEvent,
    }))
  } finally {
    await nc.close()
  }
}
