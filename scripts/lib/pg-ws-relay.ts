import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP, type Socket, connect as tcpConnect } from 'node:net'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import {
  createSqlOverHttp,
  EndpointError,
  endpointErrorBody,
  type SqlOverHttpOptions,
  statsKeyOf,
} from './pg-http-endpoint'

/**
 * The one local front of Postgres for the Neon driver, on 127.0.0.1 only, one port:
 *
 * - WebSocket (any path, e.g. `/v2?address=…`): a WebSocket→TCP relay that lets `Pool`/`Client`
 *   speak the Postgres wire protocol to an ordinary local Postgres. Each WebSocket connection gets
 *   one TCP connection to the configured server; the `address` the driver puts in the URL is
 *   ignored, so the relay can never be used to reach anything else.
 * - `POST /sql`: Neon's SQL-over-HTTP protocol for `neon()` (see `pg-http-endpoint.ts`), over a
 *   small pool of TCP connections, only for the databases in `databases`. Functions point the
 *   driver at it with `neonConfig.fetchEndpoint = () => 'http://127.0.0.1:<port>/sql'`, the port
 *   being the one of `PG_WS_PROXY=127.0.0.1:<port>`.
 * - `GET /stats?key=<k>`: round-trip counts for the round-trip tests, where `<k>` is the
 *   `application_name` query parameter of the connection string
 *   (`postgres://u@h/db?application_name=rt-123`): `/sql` calls carrying it in their
 *   `Neon-Connection-String`, and WebSocket connections whose StartupMessage carries it. Reply:
 *   `200 {"sql_calls": <n>, "ws_connections": <m>}` (zeros for a key never seen); no key → 400.
 *   Counts start when the relay starts and are not reset; use a fresh key per test.
 *
 * Anything else gets a JSON error `{"error": {"code", "message", "request_id", "details"}}`.
 * HTTP requests carrying an `Origin` header (a browser page) are refused: the driver never sends one.
 */

export interface PgWsRelayOptions {
  pgHost: string
  pgPort: number
  /** Databases `POST /sql` answers for (more with `allowDatabase`). */
  databases: readonly string[]
  /** Default: any free port. */
  port?: number
  /** Loopback address to listen on. Default 127.0.0.1; anything else is refused. */
  host?: string
  /** Pool and size limits of `/sql`. */
  sql?: Omit<SqlOverHttpOptions, 'pgHost' | 'pgPort' | 'databases'>
}

export interface PgWsRelay {
  /** ws://127.0.0.1:<port>/ */
  url: string
  /** http://127.0.0.1:<port>/sql */
  sqlUrl: string
  port: number
  /** Number of open WebSocket↔TCP pairs. */
  readonly connections: number
  /** Counts for one `application_name`, as `GET /stats?key=` answers them. */
  stats(key: string): RelayStats
  /** `POST /sql` also answers for this database from now on. */
  allowDatabase(name: string): void
  close(): Promise<void>
}

export interface RelayStats {
  sql_calls: number
  ws_connections: number
}

/** Keys remembered by `/stats`; the oldest is forgotten beyond this. */
const MAX_STATS_KEYS = 10_000

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
export const createTerminateDetector = (onStartup?: (params: Record<string, string>) => void) => {
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
        const message = pending.subarray(8, len)
        pending = pending.subarray(len)
        if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE) {
          typed = true
          onStartup?.(readStartupParameters(message))
        }
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

/** The name/value pairs of a StartupMessage body (each NUL-terminated, the list too). */
const readStartupParameters = (body: Buffer) => {
  const parts = body.toString('utf8').split('\0')
  const params: Record<string, string> = {}
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2)
    params[parts[i] as string] = parts[i + 1] as string
  return params
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

const sendError = (res: ServerResponse, err: EndpointError, requestId: string) => {
  const text = JSON.stringify(endpointErrorBody(err, requestId))
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId,
  })
  res.end(text)
}

export const startPgWsRelay = async (options: PgWsRelayOptions): Promise<PgWsRelay> => {
  const { pgHost, pgPort } = options
  if (!isLoopbackHost(pgHost)) {
    throw new Error(`pg-ws-relay only forwards to a loopback Postgres; got host "${pgHost}"`)
  }
  const host = options.host ?? '127.0.0.1'
  if (!isLoopbackHost(host)) {
    throw new Error(`pg-ws-relay listens on loopback only; got host "${host}"`)
  }
  const sql = createSqlOverHttp({ ...options.sql, pgHost, pgPort, databases: options.databases })

  const counts = new Map<string, RelayStats>()
  const countFor = (key: string) => {
    let entry = counts.get(key)
    if (!entry) {
      if (counts.size >= MAX_STATS_KEYS) counts.delete(counts.keys().next().value as string)
      entry = { sql_calls: 0, ws_connections: 0 }
      counts.set(key, entry)
    }
    return entry
  }

  const handleHttp = (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID()
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://relay.local')
    } catch {
      req.resume()
      return sendError(
        res,
        new EndpointError(400, 'invalid_url', 'the request target is not a URL'),
        requestId,
      )
    }
    if (req.headers.origin !== undefined) {
      req.resume()
      return sendError(
        res,
        new EndpointError(403, 'forbidden', 'requests from browsers are refused'),
        requestId,
      )
    }
    if (url.pathname === '/sql') {
      if (req.method !== 'POST') {
        req.resume()
        res.setHeader('allow', 'POST')
        return sendError(res, new EndpointError(405, 'method_not_allowed', '/sql takes POST'), requestId)
      }
      const key = statsKeyOf(req.headers['neon-connection-string'] as string | undefined)
      if (key !== undefined) countFor(key).sql_calls++
      void sql.handle(req, res, requestId)
      return
    }
    req.resume()
    if (url.pathname === '/stats' && req.method === 'GET') {
      const key = url.searchParams.get('key')
      if (!key) {
        return sendError(
          res,
          new EndpointError(400, 'invalid_query', 'key is required', { field: 'key' }),
          requestId,
        )
      }
      const text = JSON.stringify(counts.get(key) ?? { sql_calls: 0, ws_connections: 0 })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
      return
    }
    sendError(
      res,
      new EndpointError(404, 'not_found', `no route for ${req.method} ${url.pathname}`),
      requestId,
    )
  }

  const server = createServer(
    { keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 },
    handleHttp,
  )
  // listening before the WebSocket server is attached: it re-emits the server's errors (a port in
  // use) and would throw them, having no listener of its own
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject)
      resolve()
    })
  })
  const pairs = new Set<{ ws: WebSocket; tcp: Socket }>()
  const wss = new WebSocketServer({ server, perMessageDeflate: false })

  wss.on('connection', (ws) => {
    const tcp = tcpConnect({ host: pgHost.replace(/^\[|\]$/g, ''), port: pgPort })
    tcp.setNoDelay(true)
    const pair = { ws, tcp }
    pairs.add(pair)
    const isTerminate = createTerminateDetector((params) => {
      if (params.application_name) countFor(params.application_name).ws_connections++
    })
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

  const address = server.address()
  if (address === null || typeof address === 'string')
    throw new Error('unexpected pipe address for pg-ws-relay')
  const port = address.port
  const bare = host.replace(/^\[|\]$/g, '')
  const origin = `${bare.includes(':') ? `[${bare}]` : bare}:${port}`

  return {
    url: `ws://${origin}/`,
    sqlUrl: `http://${origin}/sql`,
    port,
    get connections() {
      return pairs.size
    },
    stats: (key) => ({ ...(counts.get(key) ?? { sql_calls: 0, ws_connections: 0 }) }),
    allowDatabase: (name) => sql.allowDatabase(name),
    close: async () => {
      for (const { ws, tcp } of pairs) {
        tcp.destroy()
        ws.terminate()
      }
      pairs.clear()
      const closing = new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await Promise.all([closing, sql.close()])
    },
  }
}
