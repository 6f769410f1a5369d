import { Hono } from 'hono'
import * as v from 'valibot'
import { LibraryEvent } from '../../shared/events'
import { readJson } from '../../shared/http/read-body'
import { type FieldIssue, HttpError, issuesToDetails } from '../../shared/http-error'
import { eventFieldDepthLimit, findTooDeep } from '../../shared/json-depth'
import { subjectFor } from '../../shared/subjects'
import type { Tracing } from '../../shared/telemetry/tracing'
import { validTraceparent } from '../../shared/trace-context'
import { authorize } from '../auth/require-token'
import { type BridgeDeps, maxBodyBytes, retryAfterSeconds } from '../deps'
import { type EncodedEvent, encodeEvent, publishEvents } from '../nats/publisher'
import { requestSpan } from '../telemetry/http-spans'
import { publishSpans } from '../telemetry/publish-spans'
import type { BridgeEnv } from '../types'
import { publishDoc } from './events.doc'

/** Room for the headers (Nats-Msg-Id, type, traceparent…) that travel with each event. */
const HEADER_RESERVE_BYTES = 512

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** `{"events": [...]}` is a batch, any other object is one event. */
const itemsOf = (body: unknown, maxBatch: number): { items: unknown[]; batch: boolean } => {
  if (!isRecord(body)) {
    throw new HttpError(400, 'invalid_input', 'Expected one event object or {"events": [...]}', [
      {
        path: '(root)',
        message: `expected an object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
      },
    ])
  }
  if (!('events' in body)) return { items: [body], batch: false }
  const { events } = body
  if (!Array.isArray(events) || events.length === 0) {
    throw new HttpError(400, 'invalid_input', '"events" must be a non-empty array', [
      { path: 'events', message: 'must be a non-empty array' },
    ])
  }
  if (events.length > maxBatch) {
    throw new HttpError(413, 'batch_too_large', `A batch holds at most ${maxBatch} events`, {
      max_batch: maxBatch,
      received: events.length,
    })
  }
  return { items: events, batch: true }
}

export const eventRoutes = (deps: BridgeDeps, tracing?: Tracing) => {
  const { config, nats, metrics } = deps
  const traced = tracing && { tracing, spans: publishSpans(tracing) }
  return new Hono<BridgeEnv>().post('/', publishDoc, async (c) => {
    const limit = maxBodyBytes(deps)
    const { items, batch } = itemsOf(
      await readJson(c.req.raw, limit, { trustContentLength: true }),
      config.maxBatch,
    )

    // Before the schema and JSON.stringify: both would recurse through a deeply nested value.
    const fieldLimit = eventFieldDepthLimit(config.maxJsonDepth)
    const tooDeep = items.flatMap((item, index) => {
      const path = findTooDeep(item, fieldLimit + 1)
      return path ? [[...(batch ? ['events', index] : []), path[0]].join('.')] : []
    })
    if (tooDeep.length > 0) {
      throw new HttpError(
        400,
        'json_too_deep',
        `${tooDeep[0]} nests deeper than ${fieldLimit} levels`,
        tooDeep.map((path) => ({ path, message: `nests deeper than ${fieldLimit} levels` })),
      )
    }

    const issues: FieldIssue[] = []
    const events: LibraryEvent[] = []
    for (const [index, item] of items.entries()) {
      const parsed = v.safeParse(LibraryEvent, item)
      if (parsed.success) events.push(parsed.output)
      else issues.push(...issuesToDetails(parsed.issues, batch ? `events.${index}` : ''))
    }
    if (issues.length > 0)
      throw new HttpError(400, 'invalid_input', 'One or more events are not valid', issues)

    authorize(
      c.get('principal'),
      'publish',
      events.map((e) => subjectFor(e.event_type)),
    )

    const encoded: EncodedEvent[] = events.map((event) => encodeEvent(event, subjectFor(event.event_type)))
    const eventLimit = (nats.maxPayload ?? limit) - HEADER_RESERVE_BYTES
    const oversized = encoded.flatMap((e, index) => (e.data.byteLength > eventLimit ? [index] : []))
    if (oversized.length > 0) {
      throw new HttpError(
        413,
        'event_too_large',
        `An event may be at most ${eventLimit} bytes once encoded`,
        {
          max_event_bytes: eventLimit,
          items: oversized.map((index) => (batch ? `events.${index}` : '(root)')),
        },
      )
    }

    const results = await publishEvents(nats, encoded, {
      deadlineMs: config.publishTimeoutMs,
      traceparent: validTraceparent(c.req.header('traceparent')),
      metrics,
      tracing: traced && { ...traced, request: requestSpan(c) },
    })
    const body = results.map(({ ok: _ok, ...result }) => result)
    const failed = results.filter((r) => !r.ok).length
    if (failed > 0) {
      if (results.some((r) => !r.ok && r.error.code === 'stream_unavailable')) deps.stream.recheck()
      c.get('logger').warn({ failed, total: results.length }, 'events not acknowledged by JetStream')
      if (results.some((r) => !r.ok && r.error.code === 'stream_full')) {
        throw new HttpError(
          503,
          'stream_full',
          `${failed} of ${results.length} events were refused: the stream is full; retry them with the same event_id once it has room`,
          { results: body },
          { 'Retry-After': retryAfterSeconds(deps) },
        )
      }
      throw new HttpError(
        503,
        'nats_unavailable',
        `${failed} of ${results.length} events were not acknowledged by JetStream; retry them with the same event_id`,
        { results: body },
        { 'Retry-After': retryAfterSeconds(deps) },
      )
    }
    return c.json({ results: body }, 202)
  })
}
