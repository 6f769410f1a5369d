import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono } from 'hono'
import { SubscribeQuery } from '../../shared/bridge-contract'
import { HttpError } from '../../shared/http-error'
import { REQUEST_SUBJECTS } from '../../shared/subjects'
import { authorizeSubscribe, deliverableTo } from '../auth/require-token'
import { type BridgeDeps, retryAfterSeconds } from '../deps'
import { errorMessage } from '../error-message'
import { queryInput } from '../http/validate'
import {
  type EventSource,
  isStreamPattern,
  openCoreSource,
  openStreamSource,
  type StartPosition,
} from '../sse/event-source'
import type { SseHub } from '../sse/sse-hub'
import { requestSpan } from '../telemetry/http-spans'
import type { BridgeEnv } from '../types'
import { subscribeDoc } from './subscribe.doc'

type SubscribeEnv = BridgeEnv & { Bindings: HttpBindings }

const SEQUENCE = /^\d{1,15}$/

/**
 * SSE queue groups live in the principal's own namespace, so no client can join the groups that
 * forward routes (`library-bridge`) and executors (`library-swap-executor`) answer requests in,
 * nor another principal's. `:` appears in neither token names nor queue names, so principal `a`
 * with queue `b.q` and principal `a.b` with queue `q` stay apart.
 */
export const sseQueueName = (principal: string, queue: string): string => `sse:${principal}:${queue}`

/** `Last-Event-ID` wins over `?from=` so an EventSource reconnecting to its original URL resumes. */
export const startPosition = (lastEventId: string | undefined, from: string | undefined): StartPosition => {
  if (lastEventId !== undefined && lastEventId !== '') {
    if (!SEQUENCE.test(lastEventId))
      throw new HttpError(400, 'invalid_last_event_id', 'Last-Event-ID must be a stream sequence number')
    return { kind: 'after', seq: Number(lastEventId) }
  }
  if (from === undefined || from === '' || from === 'new') return { kind: 'new' }
  if (from === 'start') return { kind: 'all' }
  if (SEQUENCE.test(from)) return { kind: 'after', seq: Number(from) }
  const time = Date.parse(from)
  if (/^\d{4}-\d{2}-\d{2}/.test(from) && !Number.isNaN(time)) return { kind: 'time', time: new Date(time) }
  throw new HttpError(
    400,
    'invalid_from',
    "from must be 'start', 'new', a sequence number or an ISO-8601 time",
    {
      from,
    },
  )
}

export const subscribeRoutes = (deps: BridgeDeps, hub: SseHub) => {
  const unavailable = (message: string) =>
    new HttpError(503, 'nats_unavailable', message, undefined, { 'Retry-After': retryAfterSeconds(deps) })

  const answered = [
    ...REQUEST_SUBJECTS,
    ...deps.config.forward.routes.filter((route) => route.reply).map((route) => route.subject),
  ]

  return new Hono<SubscribeEnv>().get('/', subscribeDoc, queryInput(SubscribeQuery), async (c) => {
    const { subject: pattern, from, queue } = c.req.valid('query')
    const principal = c.get('principal')
    authorizeSubscribe(principal, pattern, answered)
    const fromStream = isStreamPattern(pattern)
    if (fromStream && queue !== undefined)
      throw new HttpError(400, 'invalid_input', 'queue applies only to subjects outside the event stream', {
        queue,
      })
    const start = fromStream ? startPosition(c.req.header('last-event-id'), from) : undefined

    const res = c.env?.outgoing
    if (!res) throw new Error('SSE needs the Node HTTP server bindings')
    const handles = deps.nats.handles
    if (!handles || !deps.nats.isConnected()) throw unavailable(`NATS is not connected (${deps.nats.state})`)
    if (fromStream && !deps.stream.ready) throw unavailable('The event stream is not ready')

    const release = hub.reserve()
    if (!release)
      throw new HttpError(503, 'too_many_streams', 'The bridge serves as many streams as it may', undefined, {
        'Retry-After': '5',
      })
    const log = c.get('logger')
    let source: EventSource
    try {
      source = start
        ? await openStreamSource(handles.js, pattern, start)
        : await openCoreSource(handles.nc, pattern, {
            queue: queue === undefined ? undefined : sseQueueName(principal.name, queue),
            deliverable: deliverableTo(principal, answered),
          })
    } catch (err) {
      release()
      log.warn({ err: errorMessage(err), pattern }, 'cannot open subscription')
      throw unavailable('The subscription could not be opened')
    }
    if (res.destroyed) {
      release()
      await source.close()
      return RESPONSE_ALREADY_SENT
    }
    hub.serve(res, source, release, {
      log,
      headers: { 'x-request-id': c.get('requestId') },
      requestSpan: requestSpan(c),
    })
    log.info({ pattern, source: source.kind, start: start?.kind }, 'SSE stream opened')
    return RESPONSE_ALREADY_SENT
  })
}
