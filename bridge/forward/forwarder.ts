import { randomUUID } from 'node:crypto'
import type { Span } from '@opentelemetry/api'
import { Match, type Msg, type NatsConnection, headers as natsHeaders, type Subscription } from 'nats'
import type { Logger } from 'pino'
import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../../shared/bridge-contract'
import { errorBody } from '../../shared/http-error'
import type { Tracing } from '../../shared/telemetry/tracing'
import { webhookHeaders } from '../../shared/webhook-signing'
import { errorMessage } from '../error-message'
import { forwardSpans } from '../telemetry/forward-spans'
import type { ForwardConfig, ForwardRoute } from './config'

export interface Forwarder {
  /** Subscribes every route on `nc`; the client re-subscribes by itself after a reconnect. */
  attach(nc: NatsConnection): void
  /** Stops taking messages and waits for the forwards in flight to reply. */
  drain(): Promise<void>
  readonly inFlight: number
}

export interface ForwarderOptions {
  config: ForwardConfig
  logger: Logger
  fetch?: typeof globalThis.fetch
  /** Undefined while tracing is off. */
  tracing?: Tracing
}

interface Outcome {
  data: Uint8Array
  contentType?: string
  error?: { status: number; message: string }
}

const encoder = new TextEncoder()
const PASSED_THROUGH = ['traceparent', 'tracestate'] as const

/** Header values go onto the NATS wire as-is: no CR/LF, bounded. */
const headerSafe = (text: string) => text.replace(/[\r\n]+/g, ' ').slice(0, 512)

const errorOutcome = (status: number, code: string, message: string, requestId: string): Outcome => ({
  data: encoder.encode(JSON.stringify(errorBody(code, message, requestId))),
  contentType: 'application/json',
  error: { status, message },
})

const upstreamErrorMessage = (body: Uint8Array, status: number): string => {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body))
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const error = parsed.error
      if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string')
        return error.message
      if (typeof error === 'string') return error
    }
  } catch {}
  return `upstream answered HTTP ${status}`
}

export const createForwarder = ({
  config,
  logger,
  fetch = globalThis.fetch,
  tracing,
}: ForwarderOptions): Forwarder => {
  const spans = tracing && forwardSpans(tracing)
  const inFlight = new Set<Promise<void>>()
  let subscriptions: Subscription[] = []
  let attachedTo: NatsConnection | undefined
  let draining = false

  const post = async (
    route: ForwardRoute,
    msg: Msg,
    requestId: string,
    replyExpected: boolean,
    span: Span | undefined,
  ) => {
    const headers = new Headers({
      'content-type': msg.headers?.get('content-type', Match.IgnoreCase) || 'application/json',
      'nats-subject': msg.subject,
      'nats-reply-expected': String(replyExpected),
      'x-request-id': requestId,
    })
    if (tracing && span) tracing.inject(span, (name, value) => headers.set(name, value))
    else
      for (const name of PASSED_THROUGH) {
        const value = msg.headers?.get(name, Match.IgnoreCase)
        if (value) headers.set(name, value)
      }
    if (config.token) headers.set('authorization', `Bearer ${config.token}`)
    if (config.signingSecret) {
      const signed = await webhookHeaders({
        secret: config.signingSecret,
        id: `msg_${randomUUID()}`,
        body: new TextDecoder().decode(msg.data),
      })
      for (const [name, value] of Object.entries(signed)) headers.set(name, value)
    }
    const response = await fetch(route.url, {
      method: 'POST',
      headers,
      body: msg.data,
      redirect: 'manual',
      signal: AbortSignal.timeout(route.timeoutMs),
    })
    const body = new Uint8Array(await response.arrayBuffer())
    return {
      status: response.status,
      ok: response.ok,
      body,
      contentType: response.headers.get('content-type'),
    }
  }

  const forward = async (route: ForwardRoute, msg: Msg, nc: NatsConnection): Promise<void> => {
    const requestId = randomUUID()
    const replyExpected = route.reply && Boolean(msg.reply)
    const log = logger.child({ forward: route.subject, subject: msg.subject, request_id: requestId })
    const span =
      tracing &&
      spans?.start({
        subject: msg.subject,
        queue: route.queue,
        url: route.url,
        parent: tracing.extract((name) => msg.headers?.get(name, Match.IgnoreCase)),
      })
    let outcome: Outcome
    try {
      const res = await post(route, msg, requestId, replyExpected, span)
      if (spans && span) spans.end(span, { status: res.status })
      if (res.ok) {
        outcome = { data: res.body, contentType: res.contentType ?? undefined }
      } else {
        const message = upstreamErrorMessage(res.body, res.status)
        log.warn({ status: res.status }, 'forward target answered with an error')
        outcome =
          res.body.length > 0
            ? {
                data: res.body,
                contentType: res.contentType ?? undefined,
                error: { status: res.status, message },
              }
            : errorOutcome(res.status, 'upstream_error', message, requestId)
      }
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
      log.warn({ err: errorMessage(err), timed_out: timedOut }, 'forward failed')
      if (spans && span)
        spans.end(span, {
          errorType: timedOut ? 'timeout' : 'unreachable',
          message: errorMessage(err),
        })
      outcome = timedOut
        ? errorOutcome(
            504,
            'upstream_timeout',
            `no answer from the forward target within ${route.timeoutMs} ms`,
            requestId,
          )
        : errorOutcome(502, 'upstream_unreachable', 'the forward target could not be reached', requestId)
    }
    if (!replyExpected) return
    const maxPayload = nc.info?.max_payload
    if (maxPayload !== undefined && outcome.data.length > maxPayload) {
      log.warn({ bytes: outcome.data.length, max_payload: maxPayload }, 'forward reply too large for NATS')
      outcome = errorOutcome(
        502,
        'reply_too_large',
        `the reply exceeds the NATS max_payload of ${maxPayload} bytes`,
        requestId,
      )
    }
    const h = natsHeaders()
    if (outcome.contentType) h.set('Content-Type', headerSafe(outcome.contentType))
    if (outcome.error) {
      h.set(SERVICE_ERROR_HEADER, headerSafe(outcome.error.message))
      h.set(SERVICE_ERROR_CODE_HEADER, String(outcome.error.status))
    }
    if (!msg.respond(outcome.data, { headers: h }))
      log.warn('could not reply: the message carried no reply subject')
  }

  const subscribe = (nc: NatsConnection, route: ForwardRoute): Subscription =>
    nc.subscribe(route.subject, {
      queue: route.queue,
      callback: (err, msg) => {
        if (err) {
          logger.error({ err: err.message, forward: route.subject }, 'forward subscription failed')
          return
        }
        const task = forward(route, msg, nc).catch((error: unknown) => {
          logger.error({ err: errorMessage(error), forward: route.subject }, 'forward crashed')
        })
        inFlight.add(task)
        void task.finally(() => inFlight.delete(task))
      },
    })

  return {
    attach(nc) {
      if (draining || attachedTo === nc || config.routes.length === 0) return
      for (const sub of subscriptions) sub.unsubscribe()
      attachedTo = nc
      subscriptions = config.routes.map((route) => subscribe(nc, route))
      logger.info(
        { routes: config.routes.map((r) => ({ subject: r.subject, queue: r.queue, url: r.url })) },
        'forward routes subscribed',
      )
    },
    async drain() {
      draining = true
      await Promise.allSettled(subscriptions.map((sub) => (sub.isClosed() ? undefined : sub.drain())))
      await Promise.allSettled([...inFlight])
    },
    get inFlight() {
      return inFlight.size
    },
  }
}
