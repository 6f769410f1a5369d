import { Agent, request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import type { Sample } from './measure'

interface CannonResult {
  duration: number
  latency: { p50: number; p99: number }
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
}
type CannonRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string }
type Cannon = (opts: {
  url: string
  connections: number
  duration: number
  method: string
  headers: Record<string, string>
  requests?: Array<{ setupRequest?: (req: CannonRequest) => CannonRequest }>
}) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon

/**
 * POSTs from `connections` kept-alive connections for `durationS` seconds (autocannon), a fresh body
 * per request. Latencies are whole milliseconds, so use `postLoop` where sub-millisecond matters.
 */
export const cannon = async (opts: {
  url: string
  token: string
  connections: number
  durationS: number
  body: () => string
  /** Operations per 2xx response (a batch counts its events). */
  perRequest?: number
}): Promise<Sample> => {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: opts.body() }) }],
  })
  const count = result['2xx'] * (opts.perRequest ?? 1)
  return {
    rate: count / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    count,
    seconds: result.duration,
  }
}

/** GETs from `connections` kept-alive connections for `durationS` seconds (autocannon). */
export const cannonGet = async (opts: {
  url: string
  connections: number
  durationS: number
}): Promise<Sample> => {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    method: 'GET',
    headers: {},
  })
  return {
    rate: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    count: result['2xx'],
    seconds: result.duration,
  }
}

/** A POST client on one kept-alive connection, for precise single-connection latencies. */
export const keepAlivePoster = (token: string) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const post = (url: string, body: string, okStatus = 200): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      })
      req.on('response', (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === okStatus ? resolve(1) : reject(new Error(`HTTP ${res.statusCode}`)),
        )
      })
      req.on('error', reject)
      req.end(body)
    })
  return { post, close: () => agent.destroy() }
}
