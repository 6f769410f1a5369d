import type { JetStreamClient, NatsConnection } from 'nats'
import type { BenchBridge } from './bridge'
import type { Row } from './report'

export interface BenchContext {
  natsUrl: string
  bridge: BenchBridge
  token: string
  /** The load generator's own connection (baselines, publishers). */
  nc: NatsConnection
  js: JetStreamClient
  durationS: number
  warmupS: number
  concurrency: number
  rows: Row[]
  step(label: string): void
  /** Another bridge like `bridge` (same bundle, options and nats-server), with `env` on top; the caller stops it. */
  startBridge(name: string, env: Record<string, string>): Promise<BenchBridge>
}
