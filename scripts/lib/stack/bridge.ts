import { waitForHttpOk } from './http-wait'
import { launch, type ManagedProcess } from './managed-process'

export const BRIDGE_ENTRY = 'bridge/main.ts'

export interface BridgeTokenScopes {
  token: string
  publish: string[]
  request: string[]
  subscribe: string[]
  /** Request subjects whose requests the token may watch over SSE. */
  observe?: string[]
  admin?: boolean
}

export interface ForwardRouteConfig {
  subject: string
  url: string
  timeout_ms?: number
  reply?: boolean
}

export interface RunningBridge {
  url: string
  process: ManagedProcess
}

/**
 * How NATS reaches the functions: swap validation requests, and the late swap outcomes executors
 * publish after the relay timed out.
 */
export const functionsForwardRoutes = (functionsUrl: string): ForwardRouteConfig[] => [
  { subject: 'library.swap.validate', url: `${functionsUrl}/internal/swap/validate`, timeout_ms: 10_000 },
  { subject: 'library.swap.completed', url: `${functionsUrl}/internal/swap/events`, reply: false },
  { subject: 'library.swap.failed', url: `${functionsUrl}/internal/swap/events`, reply: false },
  { subject: 'library.swap.rolled_back', url: `${functionsUrl}/internal/swap/events`, reply: false },
]

export const startBridge = async (opts: {
  root: string
  port: number
  natsUrl: string
  tokens: Record<string, BridgeTokenScopes>
  forward?: { routes: ForwardRouteConfig[]; token: string }
  logFile: string
}): Promise<RunningBridge> => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: opts.natsUrl,
    BRIDGE_HOST: '127.0.0.1',
    BRIDGE_PORT: String(opts.port),
    BRIDGE_TOKENS: JSON.stringify(opts.tokens),
    LOG_LEVEL: process.env.BRIDGE_LOG_LEVEL ?? 'info',
    // local webhook receivers (http://127.0.0.1:…) are the norm in development
    WEBHOOK_ALLOW_PRIVATE_HOSTS: process.env.WEBHOOK_ALLOW_PRIVATE_HOSTS ?? 'true',
  }
  delete env.BRIDGE_TOKENS_FILE
  if (opts.forward && opts.forward.routes.length > 0) {
    env.FORWARD_ROUTES = JSON.stringify(opts.forward.routes)
    env.FORWARD_TOKEN = opts.forward.token
  }
  const proc = launch({
    name: 'bridge',
    command: process.execPath,
    args: ['--max-semi-space-size=8', '--import', 'tsx', BRIDGE_ENTRY],
    cwd: opts.root,
    env,
    logFile: opts.logFile,
    stopTimeoutMs: 15_000,
  })
  const url = `http://127.0.0.1:${opts.port}`
  const ready = await waitForHttpOk(`${url}/ready`, { timeoutMs: 45_000, alive: proc.running })
  if (!ready.ok) {
    const why = proc.running()
      ? `/ready did not answer 200 within 45 s (last: ${ready.last})`
      : proc.exitDescription()
    await proc.stop()
    throw new Error(`bridge ${why}\n${proc.tail()}`)
  }
  return { url, process: proc }
}
