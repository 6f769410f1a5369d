import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type BridgeApp, createApp } from '../../bridge/app'
import { loadConfig } from '../../bridge/config'
import { createLogger } from '../../bridge/logger'
import { createMetrics } from '../../bridge/metrics'
import { NatsConnectionHolder } from '../../bridge/nats/connection'
import { StreamKeeper } from '../../bridge/nats/stream'

export interface InProcessBridge {
  /** For `app.request()` without a socket; `url` serves the same app over HTTP (streaming routes). */
  app: BridgeApp
  url: string
  token: string
  nats: NatsConnectionHolder
  metrics(): Promise<string>
  stop(): Promise<void>
}

export const TEST_TOKEN = 'sse-test-token-0123456789'
export const NARROW_TOKEN = 'sse-narrow-token-0123456789'

/** The real bridge app on a real HTTP server, in this process, so a test can watch its metrics. */
export const startInProcessBridge = async (
  natsUrl: string,
  env: Record<string, string> = {},
): Promise<InProcessBridge> => {
  const fullEnv = {
    NATS_URL: natsUrl,
    STREAM_STORAGE: 'memory',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BRIDGE_TOKENS: JSON.stringify({
      tester: { token: TEST_TOKEN, publish: ['>'], subscribe: ['>'] },
      narrow: { token: NARROW_TOKEN, subscribe: ['library.entity.*'] },
    }),
    ...env,
  }
  const config = loadConfig(fullEnv)
  const logger = createLogger(config.logLevel)
  const metrics = createMetrics({ defaultMetrics: false })
  const nats = new NatsConnectionHolder({ config: config.nats, logger, metrics })
  const stream = new StreamKeeper(nats, config.stream, logger, metrics)
  let shuttingDown = false
  const app = createApp({ config, nats, stream, logger, metrics, isShuttingDown: () => shuttingDown })
  await nats.start()
  for (let i = 0; i < 400 && !stream.ready; i++) await new Promise((r) => setTimeout(r, 50))
  if (!stream.ready) throw new Error('stream not ready')
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () =>
      resolve(s as Server),
    ) as Server
  })
  const { port } = server.address() as AddressInfo
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    token: TEST_TOKEN,
    nats,
    metrics: () => metrics.registry.metrics(),
    async stop() {
      shuttingDown = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await nats.close()
    },
  }
}

/** Value of one sample in Prometheus text output, 0 when absent. */
export const metricValue = (text: string, name: string, labels: Record<string, string> = {}): number => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    if (wanted.every((w) => rest.includes(w))) return Number(line.split(' ').at(-1))
  }
  return 0
}
