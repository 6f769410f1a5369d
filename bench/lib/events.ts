import { randomUUID } from 'node:crypto'
import { cannon } from './http'

export const EVENT_SUBJECT = 'library.entity.registered'

/**
 * A valid `entity.registered` envelope, built by hand so that making bodies costs the load
 * generator (which shares the CPUs with the bridge) as little as possible.
 */
export const eventJson = (): { id: string; json: string } => {
  const id = randomUUID()
  return {
    id,
    json: `{"event_id":"${id}","event_type":"entity.registered","timestamp":"${new Date().toISOString()}","source":"library_service","entity_id":"${randomUUID()}","deployment_id":null,"swap_id":null,"entity_name":"bench-strategy","entity_type":"strategy","version":"1.0.0","data":{"description":"benchmark event"},"metadata":{}}`,
  }
}

export const batchJson = (size: number): string =>
  `{"events":[${Array.from({ length: size }, () => eventJson().json).join(',')}]}`

/** One fresh `eventJson` per POST /v1/events to the bridge at `url`, from `connections` connections. */
export const cannonEvents = (url: string, token: string, connections: number, durationS: number) =>
  cannon({ url: `${url}/v1/events`, token, connections, durationS, body: () => eventJson().json })
