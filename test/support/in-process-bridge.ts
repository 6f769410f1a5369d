import type { BridgeApp } from '../../bridge/app'
import { createBridge } from '../../bridge/bridge'
import { loadConfig } from '../../bridge/config'
import { createMetrics } from '../../bridge/metrics'
import type { NatsConnectionHolder } from '../../bridge/nats/connection'

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

/** The real bridge (`createBridge`, started and stopped as main.ts does) in this process, so a test can watch its metrics. */
export const startInProcessBridge = async (
  natsUrl: string,
  env: Record<string, string> = {},
  /** `ready`: also the subscription registry bound (GET /ready answers 200). */
  { waitFor = 'stream' }: { waitFor?: 'stream' | 'ready' } = {},
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
  const metrics = createMetrics({ defaultMetrics: false })
  const bridge = createBridge(loadConfig({ BRIDGE_PORT: '0', ...fullEnv }), { metrics })
  const { nats, stream } = bridge.deps
  const { port } = await bridge.start()
  const started = async () =>
    waitFor === 'ready' ? (await bridge.app.request('/ready')).status === 200 : stream.ready
  for (let i = 0; i < 400 && !(await started()); i++) await new Promise((r) => setTimeout(r, 50))
  if (!(await started())) {
    await bridge.stop()
    throw new Error(`the bridge did not get ${waitFor === 'ready' ? 'ready' : 'its stream'}`)
  }
  return {
    app: bridge.app,
    url: `http://127.0.0.1:${port}`,
    token: TEST_TOKEN,
    nats,
    metrics: () => metrics.registry.metrics(),
    stop: () => bridge.stop(),
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
