import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkUrl, type ResolveAll, resolveChecked, SsrfError, type SsrfPolicy } from './ssrf-guard'

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number; error: string }
  | { kind: 'rate_limited'; status: number; retryAfterMs: number | undefined; error: string }
  | {
      kind: 'failed'
      status?: number
      error: string
      /** A connection was open when it failed (a timeout then means the receiver did not answer). */
      connected?: boolean
    }
  | { kind: 'refused'; error: string }

export interface DeliveryRequest {
  url: string
  body: string
  headers: Record<string, string>
  timeoutMs: number
  policy: SsrfPolicy
  /** Replaces the system resolver (tests). */
  resolve?: ResolveAll
}

const RESPONSE_BODY_LIMIT = 64 * 1024

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export const parseRetryAfter = (value: string | undefined, now = Date.now()): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

type AllCallback = (err: Error | null, addresses: Array<{ address: string; family: number }>) => void

/**
 * A `lookup` for `net.connect` that resolves through the SSRF guard: the socket goes to an
 * address that was checked when the socket was opened, never to a second, unchecked answer.
 */
const guardedLookup =
  (policy: SsrfPolicy, resolve: ResolveAll | undefined): LookupFunction =>
  (hostname, options, callback) => {
    resolveChecked(policy, hostname, resolve).then(
      (vetted) => {
        const family = typeof options === 'object' ? options.family : undefined
        const wanted = family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : family
        const pick = vetted.find((a) => !wanted || a.family === wanted) ?? vetted[0]
        if (!pick) return callback(new Error('no vetted address'), '', 4)
        if (typeof options === 'object' && options.all)
          return (callback as unknown as AllCallback)(null, [pick])
        callback(null, pick.address, pick.family)
      },
      (err: Error) => callback(err, '', 4),
    )
  }

/** Idle pooled connections are closed before a receiver's usual keep-alive timeout (Node's is 5 s). */
const IDLE_SOCKET_MS = 4_000

interface AgentPair {
  http: HttpAgent
  https: HttpsAgent
}

/**
 * Keep-alive agents, one pair per SSRF policy and resolver: each new socket is opened through the
 * guarded lookup of that policy, so a pooled socket is only ever reused under the policy that
 * vetted its address. Agents pool per host and port and drop a host's pool once it is empty.
 */
const agentPools = new WeakMap<SsrfPolicy, Map<ResolveAll | undefined, AgentPair>>()

const agentsFor = (policy: SsrfPolicy, resolve: ResolveAll | undefined): AgentPair => {
  let byResolver = agentPools.get(policy)
  if (!byResolver) {
    byResolver = new Map()
    agentPools.set(policy, byResolver)
  }
  let pair = byResolver.get(resolve)
  if (!pair) {
    const options = { keepAlive: true, timeout: IDLE_SOCKET_MS, lookup: guardedLookup(policy, resolve) }
    pair = { http: new HttpAgent(options), https: new HttpsAgent(options) }
    byResolver.set(resolve, pair)
  }
  return pair
}

/** Errors of a pooled socket the receiver closed while it sat idle: the request never reached it. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE'])

/**
 * One POST to a webhook target over a kept-alive connection. Never follows redirects; never
 * connects to an address the policy refuses.
 */
export const deliver = async (req: DeliveryRequest): Promise<DeliveryOutcome> => {
  let url: URL
  try {
    url = checkUrl(req.policy, req.url)
  } catch (err) {
    return { kind: 'refused', error: (err as Error).message }
  }
  const agents = agentsFor(req.policy, req.resolve)
  const https = url.protocol === 'https:'
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
    timeout: req.timeoutMs,
    agent: https ? agents.https : agents.http,
  }
  const send = https ? httpsRequest : httpRequest
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false
    let connected = false
    let current: ClientRequest | undefined
    const finish = (outcome: DeliveryOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      resolve(outcome)
    }
    const timedOut = () => {
      current?.destroy()
      finish({ kind: 'failed', error: `no response within ${req.timeoutMs} ms`, connected })
    }
    const attempt = (retryStale: boolean) => {
      let answered = false
      const request = send(url, options, (res) => {
        answered = true
        // The socket returns to the pool once this turn ends; the next delivery can then reuse it.
        const done = () => setImmediate(() => finish(classify(res)))
        drain(res).then(done, done)
      })
      current = request
      request.on('socket', (socket) => {
        if (!socket.connecting) connected = true
        else socket.once('connect', () => (connected = true))
      })
      request.on('timeout', timedOut)
      request.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return
        if (err instanceof SsrfError) return finish({ kind: 'refused', error: err.message })
        if (retryStale && !answered && request.reusedSocket && STALE_SOCKET.has(err.code ?? ''))
          return attempt(false)
        finish({ kind: 'failed', error: err.code ?? err.message, connected })
      })
      request.end(req.body)
    }
    const deadline = setTimeout(timedOut, req.timeoutMs)
    attempt(true)
  })
}

const drain = (res: IncomingMessage): Promise<void> =>
  new Promise((resolve, reject) => {
    let seen = 0
    res.on('data', (chunk: Buffer) => {
      seen += chunk.length
      if (seen > RESPONSE_BODY_LIMIT) res.destroy()
    })
    res.on('end', resolve)
    res.on('close', resolve)
    res.on('error', reject)
  })

const classify = (res: IncomingMessage): DeliveryOutcome => {
  const status = res.statusCode ?? 0
  if (status >= 200 && status < 300) return { kind: 'delivered', status }
  if (status === 410) return { kind: 'gone', status, error: 'receiver answered 410 Gone' }
  if (status === 429) {
    const header = res.headers['retry-after']
    return {
      kind: 'rate_limited',
      status,
      retryAfterMs: parseRetryAfter(Array.isArray(header) ? header[0] : header),
      error: 'receiver answered 429 Too Many Requests',
    }
  }
  if (status >= 300 && status < 400)
    return { kind: 'failed', status, error: `redirect ${status} not followed` }
  return { kind: 'failed', status, error: `receiver answered ${status}` }
}
