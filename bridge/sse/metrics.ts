import { Counter, Gauge, type Registry } from 'prom-client'

export const createSseMetrics = (registry: Registry) => {
  const registers = [registry]
  return {
    open: new Gauge({
      name: 'bridge_sse_streams_open',
      help: 'Server-Sent Event streams currently open, by source (jetstream, core)',
      labelNames: ['source'],
      registers,
    }),
    eventsSent: new Counter({
      name: 'bridge_sse_events_sent_total',
      help: 'Events written to Server-Sent Event streams',
      labelNames: ['source'],
      registers,
    }),
    clientsCut: new Counter({
      name: 'bridge_sse_clients_cut_total',
      help: 'Streams closed by the bridge, by reason (slow_consumer, upstream_error, shutdown)',
      labelNames: ['reason'],
      registers,
    }),
    rejected: new Counter({
      name: 'bridge_sse_rejected_total',
      help: 'Stream requests refused because the client cap was reached',
      registers,
    }),
  }
}

export type SseMetrics = ReturnType<typeof createSseMetrics>
