import type { Span } from '@opentelemetry/api'
import { ErrorCode, type MsgHdrs, NatsError, headers as natsHeaders } from 'nats'
import type { PublishAck, PublishFailure } from '../../shared/bridge-contract'
import type { LibraryEvent } from '../../shared/events'
import { STREAM_NAME } from '../../shared/subjects'
import type { Tracing } from '../../shared/telemetry/tracing'
import { validTraceparent } from '../../shared/trace-context'
import { errorMessage } from '../error-message'
import type { BridgeMetrics } from '../metrics'
import type { PublishSpans } from '../telemetry/publish-spans'
import type { NatsConnectionHolder } from './connection'
import { writeGate } from './next-write'

export interface EncodedEvent {
  event: LibraryEvent
  subject: string
  data: Uint8Array
}

/** A result of the contract, tagged for the route. */
export type PublishResult = ({ ok: true } & PublishAck) | ({ ok: false } & PublishFailure)

export const EVENT_TYPE_HEADER = 'Library-Event-Type'
const encoder = new TextEncoder()
const gate = writeGate()

export const encodeEvent = (event: LibraryEvent, subject: string): EncodedEvent => ({
  event,
  subject,
  data: encoder.encode(JSON.stringify(event)),
})

const eventHeaders = (event: LibraryEvent): MsgHdrs => {
  const h = natsHeaders()
  h.set('Content-Type', 'application/json')
  h.set(EVENT_TYPE_HEADER, event.event_type)
  return h
}

/**
 * The stream or the server has no room: the stream's limits with `discard: new` (maximum bytes,
 * messages, messages per subject) or JetStream out of storage. Nothing is wrong with the event.
 */
const STORE_FULL_CODES = new Set([10_023, 10_047])
const storeFull = (apiError: { err_code?: number; description: string }) =>
  STORE_FULL_CODES.has(apiError.err_code ?? 0) ||
  /maximum (bytes|messages|messages per subject) exceeded|insufficient (storage )?resources/i.test(
    apiError.description,
  )

const failure = (err: unknown, deadlineMs: number): PublishFailure['error'] => {
  if (err instanceof NatsError) {
    if (err.code === ErrorCode.Timeout)
      return { code: 'nats_unavailable', message: `no PubAck within ${deadlineMs} ms` }
    // A stream refusing the message (limits, …) answers with a 503 API error; `nats` reports that
    // under the same code as no responders.
    if (err.api_error) {
      if (storeFull(err.api_error))
        return { code: 'stream_full', message: `the stream refused the event: ${err.api_error.description}` }
      return { code: 'publish_failed', message: err.api_error.description }
    }
    if (err.code === ErrorCode.NoResponders)
      return { code: 'stream_unavailable', message: `no JetStream stream answered (${STREAM_NAME})` }
    if (err.code === ErrorCode.MaxPayloadExceeded)
      return { code: 'payload_too_large', message: 'the event exceeds the NATS max_payload' }
    if (
      err.code === ErrorCode.ConnectionClosed ||
      err.code === ErrorCode.ConnectionDraining ||
      err.code === ErrorCode.Disconnect
    )
      return { code: 'nats_unavailable', message: err.message }
    return { code: 'publish_failed', message: err.message }
  }
  return { code: 'publish_failed', message: errorMessage(err) }
}

/**
 * Publishes every event to JetStream, pipelined on the one connection (so the stream stores
 * them in order), and reports each PubAck or failure. Never throws.
 */
export const publishEvents = async (
  holder: NatsConnectionHolder,
  items: readonly EncodedEvent[],
  {
    deadlineMs,
    traceparent,
    metrics,
    tracing,
  }: {
    deadlineMs: number
    traceparent?: string
    metrics?: BridgeMetrics
    /** When on: a producer span per event, under the HTTP request's span `request`. */
    tracing?: { tracing: Tracing; spans: PublishSpans; request: Span | undefined }
  },
): Promise<PublishResult[]> => {
  const started = Date.now()
  const handles = await holder.waitForConnection(deadlineMs)
  const remaining = deadlineMs - (Date.now() - started)
  if (!handles || remaining <= 0) {
    metrics?.eventsPublished.inc({ outcome: 'failed', event_type: 'any' }, items.length)
    return items.map(({ event }) => ({
      ok: false,
      event_id: event.event_id,
      error: { code: 'nats_unavailable', message: `NATS is not connected (${holder.state})` },
    }))
  }
  const send = ({ event, subject, data }: EncodedEvent, h: MsgHdrs) => {
    const begin = performance.now()
    return handles.js
      .publish(subject, data, {
        msgID: event.event_id,
        expect: { streamName: STREAM_NAME },
        timeout: remaining,
        headers: h,
      })
      .finally(() => metrics?.publishDuration.observe((performance.now() - begin) / 1000))
  }
  const untraced = (item: EncodedEvent) => {
    const h = eventHeaders(item.event)
    const trace = traceparent ?? validTraceparent(item.event.metadata.traceparent)
    if (trace) h.set('traceparent', trace)
    return send(item, h)
  }
  const traced = (
    item: EncodedEvent,
    { tracing: t, spans, request }: { tracing: Tracing; spans: PublishSpans; request?: Span },
  ) => {
    const span = spans.start(item.event, item.subject, item.data.byteLength, request)
    const h = eventHeaders(item.event)
    t.inject(span, (name, value) => h.set(name, value))
    const begin = performance.now()
    return send(item, h).then(
      (ack) => {
        spans.acked(span, ack, performance.now() - begin)
        return ack
      },
      (err: unknown) => {
        spans.failed(span, failure(err, deadlineMs))
        throw err
      },
    )
  }
  const settled = await gate(() =>
    Promise.allSettled(items.map((item) => (tracing === undefined ? untraced(item) : traced(item, tracing)))),
  )
  return settled.map((outcome, i): PublishResult => {
    const { event } = items[i]!
    if (outcome.status === 'fulfilled') {
      const ack = outcome.value
      metrics?.eventsPublished.inc({
        outcome: ack.duplicate ? 'duplicate' : 'acked',
        event_type: event.event_type,
      })
      return {
        ok: true,
        event_id: event.event_id,
        stream: ack.stream,
        seq: ack.seq,
        duplicate: ack.duplicate,
      }
    }
    metrics?.eventsPublished.inc({ outcome: 'failed', event_type: event.event_type })
    return { ok: false, event_id: event.event_id, error: failure(outcome.reason, deadlineMs) }
  })
}
