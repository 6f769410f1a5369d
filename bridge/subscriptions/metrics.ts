import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export const createWebhookMetrics = (registry: Registry) => {
  const registers = [registry]
  return {
    deliveries: new Counter({
      name: 'bridge_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, failed, rate_limited, gone, refused)',
      labelNames: ['subscription', 'outcome'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'bridge_webhook_dead_letters_total',
      help: 'Messages moved to the dead-letter stream after their last attempt',
      labelNames: ['subscription'],
      registers,
    }),
    duration: new Histogram({
      name: 'bridge_webhook_delivery_duration_seconds',
      help: 'Time from POST to the receiver answering (or failing), per attempt',
      labelNames: ['outcome'],
      buckets: DELIVERY_BUCKETS,
      registers,
    }),
    workers: new Gauge({
      name: 'bridge_webhook_active_subscriptions',
      help: 'Webhook subscriptions this replica is delivering for',
      registers,
    }),
    inFlight: new Gauge({
      name: 'bridge_webhook_in_flight',
      help: 'Webhook deliveries currently in progress on this replica',
      registers,
    }),
  }
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>
