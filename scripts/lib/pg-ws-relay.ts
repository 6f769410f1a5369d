import { isIP, type Socket, connect as tcpConnect } from 'node:net'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'

/**
 * WebSocket→TCP relay that lets `@neondatabase/serverless` (Pool/Client) speak the Postgres wire
 * protocol to an ordinary local Postgres. Each WebSocket connection gets one TCP connection to the
 * configured server; the `address` the driver puts in the URL is ignored, so the relay can never
 * be used to reach anything else. Listens on 127.0.0.1 only.
 */

export interface PgWsRelayOptions {
  pgHost: string
  pgPort: number
  /** Default: any free port. */
  port?: number
}

export interface PgWsRelay {
  /** ws://127.0.0.1:<port>/ */
  url: string
  port: number
  /** Number of open WebSocket↔TCP pairs. */
  readonly connections: number
  close(): Promise<void>
}

const SSL_REQUEST_CODE = 80877103
const GSSENC_REQUEST_CODE = 80877104
const TERMINATE = 0x58 // 'X'
const HIGH_WATER_MARK = 1 << 20

export const isLoopbackHost = (host: string) =>
  host === 'localhost' || host === '::1' || host === '[::1]' || (isIP(host) === 4 && host.startsWith('127.'))

/**
 * Follows the frontend message stream just far enough to notice a Terminate message: the startup
 * phase has untyped length-prefixed messages (SSLRequest and GSSENCRequest keep us in it), after
 * that every message is a type byte plus an int32 length that counts itself.
 */
export const createTerminateDetector = () => {
  let typed = false
  let pending: Buffer = Buffer.alloc(0)
  return (chunk: Buffer): boolean => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    for (;;) {
      if (!typed) {
        if (pending.length < 8) return false
        const len = pending.readInt32BE(0)
        if (pending.length < len) return false
        const code = pending.readInt32BE(4)
        pending = pending.subarray(len)
        if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE) typed = true
        continue
      }
      if (pending.length < 5) return false
      const type = pending[0]
      if (type === TERMINATE) return true
      const len = pending.readInt32BE(1)
      if (pending.length < len + 1) {
        return false
      }
      pending = pending.subarray(len + 1)
    }
  }
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

export const startPgWsRelay = async (options: PgWsRelayOptions): Promise<PgWsRelay> => {
  const { pgHost, pgPort } = options
  if (!isLoopbackHost(pgHost)) {
    throw new Error(`pg-ws-relay only forwards to a loopback Postgres; got host "${pgHost}"`)
  }
  const pairs = new Set<{ ws: WebSocket; tcp: Socket }>()
  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, perMessageDeflate: false })

  wss.on('connection', (ws) => {
    const tcp = tcpConnect({ host: pgHost.replace(/^\[|\]$/g, ''), port: pgPort })
    tcp.setNoDelay(true)
    const pair = { ws, tcp }
    pairs.add(pair)
    const isTerminate = createTerminateDetector()
    let closed = false

    const closeBoth = () => {
      if (closed) return
      closed = true
      pairs.delete(pair)
      tcp.end()
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000)
      // a peer that does not finish the closing handshake is cut off
      setTimeout(() => {
        tcp.destroy()
        ws.terminate()
      }, 2_000).unref()
    }

    ws.on('message', (data) => {
      const chunk = toBuffer(data)
      const terminate = isTerminate(chunk)
      if (!tcp.write(chunk) && !terminate) {
        ws.pause()
        tcp.once('drain', () => ws.resume())
      }
      if (terminate) closeBoth()
    })
    let unsent = 0
    tcp.on('data', (chunk) => {
      if (ws.readyState !== ws.OPEN) return
      unsent += chunk.length
      ws.send(chunk, { binary: true }, () => {
        unsent -= chunk.length
        if (unsent <= HIGH_WATER_MARK && tcp.isPaused()) tcp.resume()
      })
      if (unsent > HIGH_WATER_MARK) tcp.pause()
    })
    ws.on('close', closeBoth)
    ws.on('error', closeBoth)
    tcp.on('close', closeBoth)
    tcp.on('error', closeBoth)
  })

  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const address = wss.address()
  if (address === null || typeof address === 'string')
    throw new Error('unexpected pipe address for pg-ws-relay')
  const port = address.port

  return {
    url: `ws://127.0.0.1:${port}/`,
    port,
    get connections() {
      return pairs.size
    },
    close: async () => {
      for (const { ws, tcp } of pairs) {
        tcp.destroy()
        ws.terminate()
      }
      pairs.clear()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
