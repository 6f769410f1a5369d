import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const tryConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(1000, () => done(false))
  })

/**
 * Polls until something accepts TCP connections on host:port. `alive` lets the caller stop early
 * (e.g. when the process that should listen has already exited).
 */
export const waitForPort = async (
  host: string,
  port: number,
  opts: { timeoutMs: number; alive?: () => boolean },
): Promise<boolean> => {
  const deadline = Date.now() + opts.timeoutMs
  while (Date.now() < deadline) {
    if (opts.alive && !opts.alive()) return false
    if (await tryConnect(host, port)) return true
    await sleep(50)
  }
  return false
}
