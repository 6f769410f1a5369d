import type { Logger } from 'pino'
import type { BridgeConfig } from './config'
import type { BridgeMetrics } from './metrics'
import type { NatsConnectionHolder } from './nats/connection'
import type { StreamKeeper } from './nats/stream'

/** Everything the HTTP app needs from the process; tests build it without listening. */
export interface BridgeDeps {
  config: BridgeConfig
  nats: NatsConnectionHolder
  stream: StreamKeeper
  logger: Logger
  metrics: BridgeMetrics
  /** True once shutdown started: readiness turns 503 so load balancers stop sending. */
  isShuttingDown?: () => boolean
}

/** Largest body accepted: the configured limit, never above the server's max_payload. */
export const maxBodyBytes = ({ config, nats }: BridgeDeps): number =>
  Math.min(config.maxBodyBytes, nats.maxPayload ?? config.maxBodyBytes)

export const retryAfterSeconds = ({ config }: BridgeDeps): string =>
  String(Math.max(1, Math.min(30, Math.ceil(config.nats.reconnect.initialMs / 1000))))
