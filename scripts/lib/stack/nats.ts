import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { launch, type ManagedProcess } from './managed-process'
import { preferredOrFreePort, waitForPort } from './ports'

const DEBIAN_INSTALL = 'apt-get install -y nats-server'

const findOnPath = (name: string): string | undefined => {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

const isDebian = () => existsSync('/etc/debian_version')
const isRoot = () => process.getuid?.() === 0

export const installHint = (): string => {
  if (process.platform === 'darwin') return 'brew install nats-server'
  if (isDebian()) return isRoot() ? DEBIAN_INSTALL : `sudo ${DEBIAN_INSTALL}`
  return 'go install github.com/nats-io/nats-server/v2@latest  (or a release from https://github.com/nats-io/nats-server/releases)'
}

/** `NATS_SERVER_BIN` (which must exist), else `nats-server` on PATH or in an sbin directory. */
export const findNatsServerBin = (): string | undefined => {
  const configured = process.env.NATS_SERVER_BIN
  if (configured) {
    if (!existsSync(configured)) throw new Error(`NATS_SERVER_BIN=${configured} does not exist`)
    return configured
  }
  return findOnPath('nats-server')
}

/**
 * `findNatsServerBin()`; on Debian/Ubuntu as root the Debian package is installed when it is
 * missing (`say` tells the user before it happens).
 */
export const ensureNatsServerBin = (say: (text: string) => void): string => {
  const found = findNatsServerBin()
  if (found) return found
  if (!(process.platform === 'linux' && isDebian() && isRoot())) {
    throw new Error(`nats-server is not installed. Install it with: ${installHint()}`)
  }
  say(`nats-server not found: installing the Debian package (${DEBIAN_INSTALL})`)
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  if (apt(['install', '-y', 'nats-server']).status !== 0) {
    // a fresh container has no package lists yet
    apt(['update'])
    if (apt(['install', '-y', 'nats-server']).status !== 0) throw new Error(`${DEBIAN_INSTALL} failed`)
  }
  const installed = findOnPath('nats-server')
  if (!installed) throw new Error(`${DEBIAN_INSTALL} succeeded but nats-server is still not on PATH`)
  return installed
}

export interface EmbeddedNats {
  url: string
  port: number
  monitorUrl?: string
  process: ManagedProcess
}

export const startEmbeddedNats = async (opts: {
  bin: string
  storeDir: string
  logFile: string
  cwd: string
  /** Ports other components are configured for: not taken even when free. */
  keepPorts?: readonly number[]
}): Promise<EmbeddedNats> => {
  mkdirSync(opts.storeDir, { recursive: true })
  const port = await preferredOrFreePort(4222, opts.keepPorts)
  const monitorPort = await preferredOrFreePort(8222, opts.keepPorts)
  const proc = launch({
    name: 'nats-server',
    command: opts.bin,
    args: [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(monitorPort),
      '-js',
      '-sd',
      opts.storeDir,
      '--server_name',
      'local-stack',
    ],
    cwd: opts.cwd,
    logFile: opts.logFile,
  })
  const up = await waitForPort('127.0.0.1', port, { timeoutMs: 15_000, alive: proc.running })
  if (!up) {
    const why = proc.running() ? 'did not accept connections within 15 s' : proc.exitDescription()
    await proc.stop()
    throw new Error(`nats-server ${why}\n${proc.tail()}`)
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    process: proc,
  }
}
