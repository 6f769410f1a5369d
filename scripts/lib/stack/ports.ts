import { spawnSync } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** True when nothing listens on host:port (checked by binding to it for a moment). */
export const isPortFree = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })

const anyFreePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no free port')),
      )
    })
  })

/**
 * A free port that is not kept for another component: the ports configured for the bridge and the
 * functions are only bound later, so the OS may hand one of them out in the meantime.
 */
export const freePort = async (host = '127.0.0.1', keep: readonly number[] = []): Promise<number> => {
  for (;;) {
    const port = await anyFreePort(host)
    if (!keep.includes(port)) return port
  }
}

/** `preferred` when it is free and not kept for another component, else any free port. */
export const preferredOrFreePort = async (
  preferred: number,
  keep: readonly number[] = [],
): Promise<number> =>
  !keep.includes(preferred) && (await isPortFree(preferred)) ? preferred : freePort('127.0.0.1', keep)

/**
 * The ports configured for the stack's components, by the variable that sets each: a message naming
 * every port given to more than one of them, or undefined.
 */
export const portCollisions = (ports: Record<string, number | undefined>): string | undefined => {
  const byPort = new Map<number, string[]>()
  for (const [name, port] of Object.entries(ports)) {
    if (port === undefined) continue
    byPort.set(port, [...(byPort.get(port) ?? []), name])
  }
  const clashes = [...byPort].filter(([, names]) => names.length > 1)
  if (!clashes.length) return undefined
  const each = clashes.map(
    ([port, names]) => `${names.join(' and ')} are ${names.length === 2 ? 'both' : 'all'} ${port}`,
  )
  return `${each.join('; ')}: each component needs a port of its own`
}

/** Who listens on a port, as `ss` tells it (best effort; empty when unknown). */
export const describePortHolder = (port: number): string => {
  const result = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' })
  if (result.status !== 0) return ''
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(result.stdout)
  return match ? `${match[1]} (pid ${match[2]})` : ''
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    what: string,
    envVar: string,
  ) {
    const holder = describePortHolder(port)
    super(
      `port ${port} (${what}) is already in use${holder ? ` by ${holder}` : ''}. ` +
        `Stop whatever holds it (another \`npm start\`?) or pick another port with ${envVar}=<port>.`,
    )
    this.name = 'PortInUseError'
  }
}

export const requireFreePort = async (port: number, what: string, envVar: string): Promise<void> => {
  if (!(await isPortFree(port))) throw new PortInUseError(port, what, envVar)
}

const canConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(1_000, () => done(false))
  })

export const waitForPort = async (
  host: string,
  port: number,
  opts: { timeoutMs: number; alive?: () => boolean },
): Promise<boolean> => {
  const deadline = Date.now() + opts.timeoutMs
  while (Date.now() < deadline) {
    if (opts.alive && !opts.alive()) return false
    if (await canConnect(host, port)) return true
    await sleep(100)
  }
  return false
}
