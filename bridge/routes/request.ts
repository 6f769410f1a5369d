import type { Span } from '@opentelemetry/api'
import { Hono } from 'hono'
import {
  canonicalMIMEHeaderKey,
  ErrorCode,
  type Msg,
  type MsgHdrs,
  NatsError,
  headers as natsHeaders,
} from 'nats'
import {
  NO_RESPONDERS,
  RELAY_TIMEOUT,
  RELAY_TIMEOUT_HEADER,
  RELAY_TIMEOUT_QUERY,
} from '../../shared/bridge-contract'
import { readBodyBytes } from '../../shared/http/read-body'
import { HttpError } from '../../shared/http-error'
import { findTooDeep } from '../../shared/json-depth'
import type { Tracing } from '../../shared/telemetry/tracing'
import { authorizeRequest } from '../auth/require-token'
import { type BridgeDeps, maxBodyBytes, retryAfterSeconds } from '../deps'
import { errorMessage } from '../error-message'
import { subjectParam } from '../http/validate'
import { writeGate } from '../nats/next-write'
import { requestSpan } from '../telemetry/http-spans'
import { relaySpans } from '../telemetry/relay-spans'
import type { BridgeEnv } from '../types'
import { requestDoc } from './request.doc'

/** Request headers that describe the HTTP hop (or carry credentials) and stay here. */
const HOP_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'cookie',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'accept-encoding',
  RELAY_TIMEOUT_HEADER,
])
/** Reply headers that must not be copied onto the HTTP response. */
const REPLY_SKIP = new Set([...HOP_HEADERS, 'content-encoding', 'set-cookie', 'x-request-id'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

const requestTimeout = (raw: string | undefined, fallback: number, cap: number): number => {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new HttpError(400, 'invalid_timeout', 'The timeout must be a positive integer of milliseconds', {
      timeout_ms: raw.slice(0, 32),
    })
  }
  return Math.min(Number(raw), cap)
}

/**
 * Headers NATS and JetStream act on (`Nats-Msg-Id`, `Nats-Expected-*`, `Nats-Rollup`, `Nats-TTL`…)
 * and the event type the bridge stamps on events: a client never sets them through the relay.
 */
export const isReservedHeader = (name: string): boolean => {
  const lower = name.toLowerCase()
  return lower.startsWith('nats-') || lower === 'library-event-type'
}

/** W3C trace context keeps its lowercase names; everything else goes out as `X-Foo-Bar` (NATS headers are case-sensitive). */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate'])

/** While tracing is on, the trace context sent is the relay span's, not the caller's. */
const toNatsHeaders = (
  incoming: Headers,
  requestId: string,
  traced?: { tracing: Tracing; span: Span },
): MsgHdrs => {
  const h = natsHeaders()
  for (const [name, value] of incoming) {
    if (HOP_HEADERS.has(name) || name === 'x-request-id' || isReservedHeader(name)) continue
    if (traced && TRACE_HEADERS.has(name)) continue
    h.append(TRACE_HEADERS.has(name) ? name : canonicalMIMEHeaderKey(name), value)
  }
  h.set('X-Request-Id', requestId)
  traced?.tracing.inject(traced.span, (name, value) => h.set(name, value))
  return h
}

const parseJsonLike = (data: Uint8Array): { json: boolean; value?: unknown } => {
  const first = data.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)
  if (first !== 0x7b && first !== 0x5b) return { json: false }
  try {
    return { json: true, value: JSON.parse(new TextDecoder().decode(data)) }
  } catch {
    return { json: false }
  }
}

const looksLikeJson = (data: Uint8Array): boolean => parseJsonLike(data).json

/** A JSON body (an object or array, whatever its content type) is held to the depth limit. */
const refuseTooDeep = (body: Uint8Array, max: number): void => {
  const parsed = parseJsonLike(body)
  if (parsed.json && findTooDeep(parsed.value, max) !== undefined) {
    throw new HttpError(400, 'json_too_deep', `The request body nests deeper than ${max} levels`, [
      { path: '(body)', message: `nests deeper than ${max} levels` },
    ])
  }
}

/** Reply headers relayed onto the HTTP response; NATS allows what HTTP would refuse, so each is checked. */
const relayHeaders = (msg: Msg, set: (name: string, value: string) => void): void => {
  let contentType = false
  if (msg.headers) {
    for (const [name, values] of msg.headers) {
      const lower = name.toLowerCase()
      if (REPLY_SKIP.has(lower) || !HEADER_NAME.test(name)) continue
      for (const value of values) {
        if (!HEADER_VALUE.test(value)) continue
        set(name, value)
        if (lower === 'content-type') contentType = true
      }
    }
  }
  if (!contentType)
    set('Content-Type', looksLikeJson(msg.data) ? 'application/json' : 'application/octet-stream')
}

export const requestRoutes = (deps: BridgeDeps, tracing?: Tracing) => {
  const { config, nats, metrics } = deps
  const gate = writeGate()
  const spans = tracing && relaySpans(tracing)
  return new Hono<BridgeEnv>().post('/:subject', requestDoc, subjectParam, async (c) => {
    const { subject } = c.req.valid('param')
    authorizeRequest(c.get('principal'), subject)
    const timeoutMs = requestTimeout(
      c.req.query(RELAY_TIMEOUT_QUERY) ?? c.req.header(RELAY_TIMEOUT_HEADER),
      config.requestTimeoutMs,
      config.requestTimeoutMaxMs,
    )
    const body = await readBodyBytes(c.req.raw, maxBodyBytes(deps), { trustContentLength: true })
    refuseTooDeep(body, config.maxJsonDepth)

    const started = performance.now()
    const span = spans?.start(subject, body.byteLength, requestSpan(c))
    const done = (outcome: string) => {
      metrics.relayTotal.inc({ outcome })
      metrics.relayDuration.observe({ outcome }, (performance.now() - started) / 1000)
      if (spans && span) spans.end(span, outcome)
    }
    const handles = await nats.waitForConnection(timeoutMs)
    const remaining = timeoutMs - (performance.now() - started)
    if (!handles || remaining < 1) {
      done('unavailable')
      throw new HttpError(503, 'nats_unavailable', `NATS is not connected (${nats.state})`, undefined, {
        'Retry-After': retryAfterSeconds(deps),
      })
    }

    let reply: Msg
    try {
      reply = await gate(() =>
        handles.nc.request(subject, body, {
          timeout: Math.ceil(remaining),
          headers: toNatsHeaders(c.req.raw.headers, c.get('requestId'), tracing && span && { tracing, span }),
        }),
      )
    } catch (err) {
      const code = err instanceof NatsError ? err.code : undefined
      if (code === ErrorCode.NoResponders) {
        done('no_responders')
        throw new HttpError(503, NO_RESPONDERS, `No service is listening on ${subject}`, { subject })
      }
      if (code === ErrorCode.Timeout) {
        done('timeout')
        throw new HttpError(504, RELAY_TIMEOUT, `No reply on ${subject} within ${timeoutMs} ms`, {
          subject,
          timeout_ms: timeoutMs,
        })
      }
      if (code === ErrorCode.MaxPayloadExceeded) {
        done('error')
        throw new HttpError(413, 'payload_too_large', 'The request exceeds the NATS max_payload')
      }
      done('error')
      c.get('logger').warn({ err: errorMessage(err), subject }, 'relay failed')
      throw new HttpError(502, 'relay_failed', `The request on ${subject} failed`, { subject })
    }
    done('ok')
    relayHeaders(reply, (name, value) => c.header(name, value, { append: true }))
    return c.body(reply.data as Uint8Array<ArrayBuffer>, 200)
  })
}
