import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkUrl, hostOf, type ResolveAll, resolveChecked, SsrfError, type SsrfPolicy } from './ssrf-guard'

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number; error: string }
  | { kind: 'rate_limited'; status: number; retryAfterMs: number | undefined; error: string }
  | { kind: 'failed'; status?: number; error: string }
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

/** One POST to a webhook target. Never follows redirects; never connects to an address the policy refuses. */
export const deliver = async (req: DeliveryRequest): Promise<DeliveryOutcome> => {
  let url: URL
  try {
    url = checkUrl(req.policy, req.url)
  } catch (err) {
    return { kind: 'refused', error: (err as Error).message }
  }
  const hostname = hostOf(url)
  let vetted: Array<{ address: string; family: number }>
  try {
    vetted = await resolveChecked(req.policy, hostname, req.resolve)
  } catch (err) {
    if (err instanceof SsrfError) return { kind: 'refused', error: err.message }
    return { kind: 'failed', error: (err as Error).message }
  }
  const lookup: LookupFunction = (_host, options, callback) => {
    const family = typeof options === 'object' ? options.family : undefined
    const pick = vetted.find((a) => !family || a.family === family) ?? vetted[0]
    if (!pick) return callback(new Error('no vetted address'), '', 4)
    if (typeof options === 'object' && options.all) return (callback as unknown as AllCallback)(null, [pick])
    callback(null, pick.address, pick.family)
  }

  const options: RequestOptions = {
    method: 'POST',
    headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
    lookup,
    timeout: req.timeoutMs,
    agent: false,
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false
    const finish = (outcome: DeliveryOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      resolve(outcome)
    }
    const request = send(url, options, (res) => {
      drain(res).then(
        () => finish(classify(res)),
        () => finish(classify(res)),
      )
    })
    const deadline = setTimeout(() => {
      request.destroy()
      finish({ kind: 'failed', error: `no response within ${req.timeoutMs} ms` })
    }, req.timeoutMs)
    request.on('timeout', () => {
      request.destroy()
      finish({ kind: 'failed', error: `no response within ${req.timeoutMs} ms` })
    })
    request.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'failed', error: err.code ?? err.message }),
    )
    request.end(req.body)
  })
}

type AllCallback = (err: Error | null, addresses: Array<{ address: string; family: number }>) => void

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
