import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { sleep } from './measure'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Node options the bridge runs with (as in `npm run bridge`): young-generation semi-spaces of
 * 8 MB instead of 16 MB keep the peak RSS about 20 MB lower for a few percent more GC time.
 */
export const BRIDGE_NODE_ARGS: readonly string[] = ['--max-semi-space-size=8']

export interface BenchBridge {
  url: string
  pid: number | undefined
  stop(): Promise<void>
}

export interface BenchBridgeOptions {
  natsUrl: string
  tokens: Record<string, unknown>
  /** Where the bridge's stdout/stderr (its JSON log) goes. */
  logFile: string
  env?: Record<string, string>
  /** Directory for a `--cpu-prof` profile written when the bridge exits. */
  cpuProfDir?: string
  /** Bundle to run, relative to the repository root (default `dist/bridge/main.js`). */
  entry?: string
  /** Node options in front of the bundle (default: the ones `npm run bridge` uses). */
  nodeArgs?: readonly string[]
}

/**
 * Runs the production build (`dist/bridge/main.js`) with its log going to a file, as a deployment
 * would, and waits until `/ready` answers 200.
 */
export const startBenchBridge = async (options: BenchBridgeOptions): Promise<BenchBridge> => {
  const port = await getFreePort()
  const url = `http://127.0.0.1:${port}`
  const log = openSync(options.logFile, 'w')
  const entry = options.entry ?? 'dist/bridge/main.js'
  const args = [
    ...(options.nodeArgs ?? BRIDGE_NODE_ARGS),
    ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
    entry,
  ]
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      NATS_URL: options.natsUrl,
      BRIDGE_HOST: '127.0.0.1',
      BRIDGE_PORT: String(port),
      BRIDGE_TOKENS: JSON.stringify(options.tokens),
      ...options.env,
    },
  })
  closeSync(log)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.once('exit', () => child.kill('SIGKILL'))
  const alive = () => child.exitCode === null && child.signalCode === null

  const deadline = Date.now() + 30_000
  for (;;) {
    if (!alive()) throw new Error(`the bridge exited during start-up; see ${options.logFile}`)
    try {
      const res = await fetch(`${url}/ready`)
      await res.arrayBuffer()
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the bridge was not ready within 30 s; see ${options.logFile}`)
    await sleep(100)
  }
  return {
    url,
    get pid() {
      return alive() ? child.pid : undefined
    },
    stop: async () => {
      if (!alive()) return
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))])
      await exited
    },
  }
}
