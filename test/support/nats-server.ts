import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'nats'
import { findNatsServerBin } from '../../scripts/lib/stack/nats'
import { freePort as getFreePort, waitForPort } from '../../scripts/lib/stack/ports'

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  url: string
  port: number
  /** Temporary JetStream directory, kept across restart(). */
  storeDir: string
  pid: number | undefined
  /** SIGTERM, then wait for the process to exit. */
  stop(): Promise<void>
  /** SIGKILL, then wait for the process to exit. */
  kill(): Promise<void>
  /** Starts again on the same port and store dir and waits until it accepts connections. */
  restart(): Promise<void>
  /** Stops the server and removes the store dir. */
  cleanup(): Promise<void>
}

export interface NatsServerOptions {
  /** Default true. */
  jetstream?: boolean
  /** Default: a free port. */
  port?: number
  /** Extra command line arguments. */
  args?: string[]
  clusterName?: string
  routes?: string[]
  clusterPort?: number
  serverName?: string
}

const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 10_000
const STDERR_TAIL_BYTES = 4_000
const INSTALL_HINT = 'apt-get install -y nats-server'

const running = new Set<ChildProcess>()
let exitHookInstalled = false
const killAllOnExit = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

/** `NATS_SERVER_BIN`, else `nats-server` on PATH (Debian installs it to /usr/sbin). */
export const resolveNatsServerBin = (): string => {
  let found: string | undefined
  try {
    found = findNatsServerBin()
  } catch (err) {
    throw new Error(`${(err as Error).message}. Install nats-server: ${INSTALL_HINT}`)
  }
  if (!found) {
    throw new Error(
      `nats-server binary not found (looked at NATS_SERVER_BIN and PATH). Install it with: ${INSTALL_HINT} ` +
        '(or set NATS_SERVER_BIN to its path)',
    )
  }
  return found
}

export const natsServerVersion = (bin = resolveNatsServerBin()): string =>
  spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()

const waitForExit = (child: ChildProcess, timeoutMs: number): Promise<boolean> => {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

export const startNatsServer = async (options: NatsServerOptions = {}): Promise<NatsServerHandle> => {
  const bin = resolveNatsServerBin()
  const port = options.port ?? (await getFreePort())
  const storeDir = await mkdtemp(join(tmpdir(), 'nats-js-'))
  const args = ['-a', '127.0.0.1', '-p', String(port)]
  if (options.jetstream !== false) args.push('-js', '-sd', storeDir)
  if (options.serverName) args.push('--server_name', options.serverName)
  if (options.clusterPort !== undefined) {
    args.push('--cluster', `nats://127.0.0.1:${options.clusterPort}`)
    if (options.clusterName) args.push('--cluster_name', options.clusterName)
    if (options.routes?.length) args.push('--routes', options.routes.join(','))
  }
  if (options.args) args.push(...options.args)

  let child: ChildProcess | undefined
  let stderrTail = ''

  const launch = async () => {
    stderrTail = ''
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    child = proc
    running.add(proc)
    killAllOnExit()
    proc.once('exit', () => running.delete(proc))
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES)
    })
    let spawnError: Error | undefined
    proc.once('error', (err) => {
      spawnError = err
    })
    const alive = () => spawnError === undefined && proc.exitCode === null && proc.signalCode === null
    const up = await waitForPort('127.0.0.1', port, { timeoutMs: START_TIMEOUT_MS, alive })
    if (!up) {
      proc.kill('SIGKILL')
      await waitForExit(proc, STOP_TIMEOUT_MS)
      const why = spawnError
        ? `could not be spawned (${spawnError.message})`
        : proc.exitCode !== null || proc.signalCode !== null
          ? `exited early (code ${proc.exitCode}, signal ${proc.signalCode})`
          : `did not accept connections within ${START_TIMEOUT_MS} ms`
      throw new Error(
        `nats-server on port ${port} ${why}. ${bin} ${args.join(' ')}\n--- stderr tail ---\n${stderrTail}`,
      )
    }
  }

  const signal = async (sig: NodeJS.Signals) => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill(sig)
    if (!(await waitForExit(proc, STOP_TIMEOUT_MS))) {
      proc.kill('SIGKILL')
      await waitForExit(proc, STOP_TIMEOUT_MS)
    }
  }

  try {
    await launch()
  } catch (err) {
    await rm(storeDir, { recursive: true, force: true })
    throw err
  }

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM')
      await launch()
    },
    cleanup: async () => {
      await signal('SIGTERM')
      await rm(storeDir, { recursive: true, force: true })
    },
  }
}

export interface NatsCluster {
  servers: NatsServerHandle[]
  urls: string[]
  cleanup(): Promise<void>
}

const CLUSTER_READY_TIMEOUT_MS = 60_000

/** Waits until the JetStream API answers, i.e. the cluster has elected a meta leader. */
/**
 * Waits until JetStream answers and, with `replicas` > 1, until a stream of that many replicas can be
 * placed: a meta leader alone does not mean every peer has joined yet ("no suitable peers").
 */
export const waitForJetStream = async (
  servers: string[],
  timeoutMs = CLUSTER_READY_TIMEOUT_MS,
  replicas = 1,
) => {
  const nc = await connect({ servers, maxReconnectAttempts: -1 })
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  try {
    while (Date.now() < deadline) {
      try {
        const jsm = await nc.jetstreamManager({ timeout: 2_000 })
        await jsm.getAccountInfo()
        if (replicas > 1) {
          const probe = `PLACEMENT_PROBE_${process.pid}`
          await jsm.streams.add({
            name: probe,
            subjects: [`placement-probe.${process.pid}`],
            num_replicas: replicas,
          })
          await jsm.streams.delete(probe)
        }
        return
      } catch (err) {
        lastError = err
        await sleep(250)
      }
    }
  } finally {
    await nc.close()
  }
  throw new Error(`JetStream did not become available within ${timeoutMs} ms: ${String(lastError)}`)
}

/** A JetStream cluster of `size` nodes (default 3) on loopback, fully routed. */
export const startNatsCluster = async (size = 3): Promise<NatsCluster> => {
  const ports = await Promise.all(Array.from({ length: size }, () => getFreePort()))
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => getFreePort()))
  const clusterName = `test-${process.pid}-${ports[0]}`
  const servers: NatsServerHandle[] = []
  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.cleanup()))
  }
  try {
    for (let i = 0; i < size; i++) {
      servers.push(
        await startNatsServer({
          port: ports[i],
          clusterPort: clusterPorts[i],
          clusterName,
          serverName: `n${i + 1}`,
          routes: clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`),
        }),
      )
    }
    const urls = servers.map((s) => s.url)
    await waitForJetStream(urls, CLUSTER_READY_TIMEOUT_MS, size)
    return { servers, urls, cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
