import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** `disconnected` until the first connection, `reconnecting` after losing one. */
export const CONNECTION_STATES = ['disconnected', 'connected', 'reconnecting', 'closed'] as const

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export const createMetrics = ({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) => {
  const registry = new Registry()
  if (defaultMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    natsState: new Gauge({
      name: 'bridge_nats_connection_state',
      help: 'NATS connection state: 1 for the current state, 0 for the others',
      labelNames: ['state'],
      registers,
    }),
    natsStateSince: new Gauge({
      name: 'bridge_nats_state_since_timestamp_seconds',
      help: 'Unix time at which the NATS connection entered its current state',
      registers,
    }),
    natsAttempts: new Gauge({
      name: 'bridge_nats_connect_attempts',
      help: 'Dial attempts since the NATS connection was last established (0 while connected)',
      registers,
    }),
    natsReconnects: new Counter({
      name: 'bridge_nats_reconnects_total',
      help: 'Successful NATS reconnections',
      registers,
    }),
    natsDisconnects: new Counter({
      name: 'bridge_nats_disconnects_total',
      help: 'NATS disconnections',
      registers,
    }),
    streamReady: new Gauge({
      name: 'bridge_stream_ready',
      help: '1 when the JetStream stream was ensured on the current connection',
      registers,
    }),
    eventsPublished: new Counter({
      name: 'bridge_events_published_total',
      help: 'Events handed to JetStream, by outcome (acked, duplicate, failed)',
      labelNames: ['outcome', 'event_type'],
      registers,
    }),
    publishDuration: new Histogram({
      name: 'bridge_publish_duration_seconds',
      help: 'Time from JetStream publish to PubAck (or failure), per event',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    relayTotal: new Counter({
      name: 'bridge_request_relay_total',
      help: 'Relayed NATS requests, by outcome (ok, no_responders, timeout, unavailable, error)',
      labelNames: ['outcome'],
      registers,
    }),
    relayDuration: new Histogram({
      name: 'bridge_request_relay_duration_seconds',
      help: 'Time from NATS request to reply (or failure)',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    httpRequests: new Counter({
      name: 'bridge_http_requests_total',
      help: 'HTTP requests, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'bridge_http_request_duration_seconds',
      help: 'HTTP request duration, by method and route',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  }
}

export type BridgeMetrics = ReturnType<typeof createMetrics>
