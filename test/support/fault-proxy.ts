import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

/**
 * A TCP proxy on loopback that stands in the middle of one link and misbehaves on demand:
 *
 * - `cut()` closes both sides of every open connection and refuses new ones until `heal()`;
 * - `blackhole()` keeps every socket open and forwards nothing in either direction (no FIN, no RST:
 *   a half-open link); new connections are accepted and then hang. Closes seen meanwhile are held
 *   too and passed on at `heal()`, as a real partition would;
 * - `latency(ms)` delays every chunk by `ms` in each direction, in order;
 * - `bandwidth(bytesPerSecond)` throttles each direction of each connection;
 * - `heal()` forwards again, what was held first.
 */
export interface FaultProxy {
  readonly host: string
  readonly port: number
  /** `host:port` of the proxy. */
  readonly address: string
  readonly mode: ProxyMode
  cut(): void
  blackhole(): void
  heal(): void
  latency(ms: number): void
  /** `null` lifts the limit. */
  bandwidth(bytesPerSecond: number | null): void
  /** Connections open through the proxy right now. */
  connections(): number
  readonly stats: { accepted: number; refused: number; bytesUp: number; bytesDown: number }
  close(): Promise<void>
}

export type ProxyMode = 'pass' | 'cut' | 'blackhole'

export interface FaultProxyOptions {
  /** Where connections go. */
  target: { host?: string; port: number }
  /** Port to listen on (default: any free one). */
  port?: number
}

/** Pending bytes per direction above which the proxy stops reading from the sender. */
const HIGH_WATER = 1 << 20

interface Link {
  mode: ProxyMode
  latencyMs: number
  bytesPerSecond: number | null
}

/** One direction of one connection: an ordered queue that honours the link's faults. */
class Pipe {
  readonly #queue: Array<{ chunk: Buffer; due: number }> = []
  #queued = 0
  #timer: NodeJS.Timeout | undefined
  #waitingDrain = false
  #tokens = 0
  #lastRefill = Date.now()
  #ended = false
  #onBytes: (n: number) => void

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly link: Link,
    onBytes: (n: number) => void,
  ) {
    this.#onBytes = onBytes
    from.on('data', (chunk: Buffer) => {
      this.#queue.push({ chunk, due: Date.now() + this.link.latencyMs })
      this.#queued += chunk.length
      if (this.#queued > HIGH_WATER) from.pause()
      this.pump()
    })
  }

  /** The sender half-closed: pass it on once everything before it is through. */
  end() {
    this.#ended = true
    this.pump()
  }

  clear() {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  pump = () => {
    this.#timer = undefined
    if (this.link.mode !== 'pass' || this.#waitingDrain || this.to.destroyed) return
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!
      const now = Date.now()
      if (head.due > now) {
        this.#schedule(head.due - now)
        return
      }
      let piece = head.chunk
      const rate = this.link.bytesPerSecond
      if (rate !== null) {
        // a token bucket holding at most 50 ms of traffic (and never less than 1 KiB)
        const burst = Math.max(1024, rate / 20)
        this.#tokens = Math.min(burst, this.#tokens + ((now - this.#lastRefill) * rate) / 1000)
        this.#lastRefill = now
        if (this.#tokens < 1) {
          this.#schedule(Math.ceil((Math.min(head.chunk.length, burst) * 1000) / rate))
          return
        }
        piece = head.chunk.subarray(0, Math.floor(this.#tokens))
        this.#tokens -= piece.length
      }
      if (piece.length === head.chunk.length) this.#queue.shift()
      else head.chunk = head.chunk.subarray(piece.length)
      this.#queued -= piece.length
      this.#onBytes(piece.length)
      if (this.#queued <= HIGH_WATER / 2 && this.from.isPaused()) this.from.resume()
      if (!this.to.write(piece)) {
        this.#waitingDrain = true
        this.to.once('drain', () => {
          this.#waitingDrain = false
          this.pump()
        })
        return
      }
    }
    if (this.#ended && !this.to.destroyed) this.to.end()
  }

  #schedule(ms: number) {
    if (this.#timer === undefined) this.#timer = setTimeout(this.pump, Math.max(1, ms))
  }
}

class Connection {
  upstream: Socket | undefined
  up: Pipe | undefined
  down: Pipe | undefined
  /** A close that happened while blackholed: passed on at heal. */
  heldClose = false
  closed = false

  constructor(
    readonly client: Socket,
    readonly proxy: FaultProxyImpl,
  ) {
    client.setNoDelay(true)
    client.on('error', () => this.onClose())
    client.on('close', () => this.onClose())
    if (proxy.link.mode === 'pass') this.open()
    else client.pause()
  }

  /** Connects upstream (at accept, or at heal for a connection accepted while blackholed). */
  open() {
    if (this.upstream || this.closed) return
    const upstream = tcpConnect({ host: this.proxy.target.host, port: this.proxy.target.port })
    this.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on('error', () => this.onClose())
    upstream.on('close', () => this.onClose())
    this.up = new Pipe(this.client, upstream, this.proxy.link, (n) => {
      this.proxy.stats.bytesUp += n
    })
    this.down = new Pipe(upstream, this.client, this.proxy.link, (n) => {
      this.proxy.stats.bytesDown += n
    })
    this.client.on('end', () => this.up?.end())
    upstream.on('end', () => this.down?.end())
    this.client.resume()
  }

  onClose() {
    if (this.closed) return
    if (this.proxy.link.mode === 'blackhole') {
      this.heldClose = true
      return
    }
    this.destroy()
  }

  destroy() {
    if (this.closed) return
    this.closed = true
    this.up?.clear()
    this.down?.clear()
    this.client.destroy()
    this.upstream?.destroy()
    this.proxy.connectionsSet.delete(this)
  }

  heal() {
    if (this.heldClose) {
      this.destroy()
      return
    }
    this.open()
    this.up?.pump()
    this.down?.pump()
  }
}

class FaultProxyImpl implements FaultProxy {
  readonly host = '127.0.0.1'
  port = 0
  readonly link: Link = { mode: 'pass', latencyMs: 0, bytesPerSecond: null }
  readonly connectionsSet = new Set<Connection>()
  readonly stats = { accepted: 0, refused: 0, bytesUp: 0, bytesDown: 0 }
  readonly target: { host: string; port: number }
  server: Server

  constructor(options: FaultProxyOptions) {
    this.target = { host: options.target.host ?? '127.0.0.1', port: options.target.port }
    this.server = createServer((client) => {
      if (this.link.mode === 'cut') {
        this.stats.refused++
        client.destroy()
        return
      }
      this.stats.accepted++
      this.connectionsSet.add(new Connection(client, this))
    })
  }

  get address() {
    return `${this.host}:${this.port}`
  }

  get mode() {
    return this.link.mode
  }

  cut() {
    this.link.mode = 'cut'
    for (const c of [...this.connectionsSet]) c.destroy()
  }

  blackhole() {
    this.link.mode = 'blackhole'
  }

  heal() {
    this.link.mode = 'pass'
    for (const c of [...this.connectionsSet]) c.heal()
  }

  latency(ms: number) {
    this.link.latencyMs = ms
  }

  bandwidth(bytesPerSecond: number | null) {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new RangeError('bandwidth must be > 0')
    this.link.bytesPerSecond = bytesPerSecond
  }

  connections() {
    return this.connectionsSet.size
  }

  async close() {
    for (const c of [...this.connectionsSet]) c.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** Starts a fault proxy on 127.0.0.1 in front of `target`. */
export const startFaultProxy = async (options: FaultProxyOptions): Promise<FaultProxy> => {
  const proxy = new FaultProxyImpl(options)
  await new Promise<void>((resolve, reject) => {
    proxy.server.once('error', reject)
    proxy.server.listen(options.port ?? 0, '127.0.0.1', () => {
      proxy.server.off('error', reject)
      resolve()
    })
  })
  const address = proxy.server.address()
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address')
  proxy.port = address.port
  return proxy
}

/** `host:port` (or a URL with a port) → the parts a proxy needs as its target. */
export const targetOf = (hostPort: string): { host: string; port: number } => {
  const url = new URL(hostPort.includes('://') ? hostPort : `tcp://${hostPort}`)
  return { host: url.hostname || '127.0.0.1', port: Number(url.port) }
}
