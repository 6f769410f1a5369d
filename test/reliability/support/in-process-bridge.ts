import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type BridgeApp, createApp } from '../../../bridge/app'
import { loadConfig } from '../../../bridge/config'
import { createLogger } from '../../../bridge/logger'
import { createMetrics } from '../../../bridge/metrics'
import { NatsConnectionHolder } from '../../../bridge/nats/connection'
import { StreamKeeper } from '../../../bridge/nats/stream'
import { waitFor } from './load'

export interface InProcessBridge {
  app: BridgeApp
  /** The same app behind a real HTTP server (for streaming routes). */
  url: string
  nats: NatsConnectionHolder
  stop(): Promise<void>
}

/** The bridge app built from its real config and NATS connection, in this process. */
export const startInProcessBridge = async (env: Record<string, string>): Promise<InProcessBridge> => {
  const config = loadConfig({ STREAM_STORAGE: 'memory', LOG_LEVEL: 'silent', ...env })
  const logger = createLogger(config.logLevel)
  const metrics = createMetrics({ defaultMetrics: false })
  const nats = new NatsConnectionHolder({ config: config.nats, logger, metrics })
  const stream = new StreamKeeper(nats, config.stream, logger, metrics)
  let shuttingDown = false
  const app = createApp({ config, nats, stream, logger, metrics, isShuttingDown: () => shuttingDown })
  await nats.start()
  await waitFor(async () => (stream.ready ? true : undefined), 'the stream', 20_000, 50)
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () =>
      resolve(s as Server),
    ) as Server
  })
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nats,
    async stop() {
      shuttingDown = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await nats.close()
    },
  }
}
