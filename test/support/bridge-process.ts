import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000

export interface TokenSpec {
  token: string
  publish?: string[]
  request?: string[]
  subscribe?: string[]
  observe?: string[]
  admin?: boolean
}

/** Tokens every test bridge knows: one allowed everything, one allowed nothing. */
export const BRIDGE_TEST_TOKENS = {
  admin: {
    token: 'admin-token-0123456789abcdef',
    publish: ['>'],
    request: ['>'],
    subscribe: ['>'],
    admin: true,
  },
  none: { token: 'none-token-0123456789abcdef' },
} satisfies Record<string, TokenSpec>

export interface BridgeProcessOptions {
  /** One URL or several (joined with commas into NATS_URL). */
  natsUrl: string | string[]
  /** Extra environment, applied last. */
  env?: Record<string, string>
  /** Replaces BRIDGE_TEST_TOKENS. */
  tokens?: Record<string, TokenSpec>
  port?: number
  /** Run the esbuild output (`npm run build`) instead of the TypeScript source. */
  entry?: 'source' | 'dist'
  /** What start() waits for: `/health` answering (default) or `/ready` answering 200. */
  waitFor?: 'health' | 'ready'
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface BridgeProcess {
  url: string
  port: number
  readonly pid: number | undefined
  tokens: Record<string, TokenSpec>
  /** Everything the process wrote so far (JSON log lines on stdout, anything on stderr). */
  output(): string
  /** stdout lines that parse as JSON. */
  logLines(): Array<Record<string, unknown>>
  /** Resolves when a log line satisfies `predicate`, rejects after `timeoutMs`. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>
  waitForReady(timeoutMs?: number): Promise<void>
  /** Resolves when the current process exits. */
  exited(): Promise<ExitInfo>
  /** SIGTERM (or `signal`) and wait for the exit; SIGKILL after the stop timeout. */
  stop(signal?: NodeJS.Signals): Promise<ExitInfo>
  kill(): Promise<ExitInfo>
  /** Starts a new process with the same options on the same port. */
  restart(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Spawns the bridge as a real child process and waits until it serves `/health` (or `/ready`). */
export const startBridgeProcess = async (options: BridgeProcessOptions): Promise<BridgeProcess> => {
  const port = options.port ?? (await getFreePort())
  const url = `http://127.0.0.1:${port}`
  const tokens = options.tokens ?? BRIDGE_TEST_TOKENS
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    NATS_URL: [options.natsUrl].flat().join(','),
    BRIDGE_HOST: '127.0.0.1',
    BRIDGE_PORT: String(port),
    BRIDGE_TOKENS: JSON.stringify(tokens),
    LOG_LEVEL: 'info',
    NATS_RECONNECT_INITIAL_MS: '100',
    NATS_RECONNECT_MAX_MS: '1000',
    ...options.env,
  }
  const args = options.entry === 'dist' ? ['dist/bridge/main.js'] : ['--import', 'tsx', 'bridge/main.ts']

  let child: ChildProcess | undefined
  let out = ''
  let exit: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null })
  const waiters = new Set<() => void>()

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null

  const launch = async () => {
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    exit = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8')
      for (const waiter of [...waiters]) waiter()
    }
    proc.stdout?.on('data', onData)
    proc.stderr?.on('data', onData)
    const killOnExit = () => proc.kill('SIGKILL')
    process.once('exit', killOnExit)
    proc.once('exit', () => process.off('exit', killOnExit))
    await waitUntil(options.waitFor === 'ready' ? '/ready' : '/health', START_TIMEOUT_MS)
  }

  const waitUntil = async (path: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`bridge exited before ${path} answered 200\n--- output ---\n${out}`)
      try {
        const res = await fetch(`${url}${path}`)
        await res.arrayBuffer()
        if (res.status === 200) return
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    throw new Error(`bridge ${path} did not answer 200 within ${timeoutMs} ms\n--- output ---\n${out}`)
  }

  const logLines = () =>
    out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    })

  const signal = async (sig: NodeJS.Signals): Promise<ExitInfo> => {
    if (!alive()) return exit
    child?.kill(sig)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)
    })
    try {
      if ((await Promise.race([exit, timeout])) === 'timeout') child?.kill('SIGKILL')
    } finally {
      clearTimeout(timer)
    }
    return exit
  }

  await launch()

  return {
    url,
    port,
    get pid() {
      return alive() ? child?.pid : undefined
    },
    tokens,
    output: () => out,
    logLines,
    waitForLog: (predicate, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!logLines().some(predicate)) return
          cleanup()
          resolve()
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`no matching log line within ${timeoutMs} ms\n--- output ---\n${out}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      }),
    waitForReady: (timeoutMs = START_TIMEOUT_MS) => waitUntil('/ready', timeoutMs),
    exited: () => exit,
    stop: (sig = 'SIGTERM') => signal(sig),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM')
      await launch()
    },
  }
}
