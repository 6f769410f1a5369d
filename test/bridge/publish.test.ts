import { describe, expect, it } from 'vitest'
import { STREAM_NAME, subjectFor } from '../../shared/subjects'
import {
  bearer,
  decodeJson,
  entityRegistered,
  healthDegraded,
  type PublishResponse,
  postEvents,
  readStream,
} from './support/bridge-client'
import { bridgeOnNats } from './support/bridge-on-nats'

const setup = bridgeOnNats()

describe('POST /v1/events', () => {
  it('publishes one event and answers 202 only with its PubAck', async () => {
    const event = entityRegistered()
    const res = await postEvents(setup.bridge.url, event)
    expect(res.status).toBe(202)
    const body = (await res.json()) as PublishResponse
    expect(body.results).toHaveLength(1)
    expect(body.results[0]).toMatchObject({ event_id: event.event_id, stream: STREAM_NAME, duplicate: false })

    const stored = (await readStream(setup.nc)).find((m) => m.headers?.get('Nats-Msg-Id') === event.event_id)
    expect(stored).toBeDefined()
    expect(stored?.seq).toBe(body.results[0]?.seq)
    expect(stored?.subject).toBe(subjectFor('entity.registered'))
    expect(stored?.headers?.get('Library-Event-Type')).toBe('entity.registered')
    expect(decodeJson(stored!.data)).toEqual(event)
  })

  it('publishes a batch; a consumer receives exactly those events in order, each with Nats-Msg-Id', async () => {
    const events = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? healthDegraded() : entityRegistered()))
    const res = await postEvents(setup.bridge.url, { events })
    expect(res.status).toBe(202)
    const body = (await res.json()) as PublishResponse
    expect(body.results.map((r) => r.event_id)).toEqual(events.map((e) => e.event_id))
    expect(body.results.every((r) => !r.duplicate)).toBe(true)

    const ids = new Set(events.map((e) => e.event_id))
    const stored = (await readStream(setup.nc)).filter((m) => ids.has(m.headers?.get('Nats-Msg-Id') ?? ''))
    expect(stored.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual(events.map((e) => e.event_id))
    expect(stored.map((m) => (decodeJson(m.data) as { event_id: string }).event_id)).toEqual(
      events.map((e) => e.event_id),
    )
    expect(stored.map((m) => m.subject)).toEqual(events.map((e) => subjectFor(e.event_type)))
    const seqs = stored.map((m) => m.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  })

  it('reports a republished event_id as duplicate and stores no copy', async () => {
    const event = entityRegistered()
    const first = (await (await postEvents(setup.bridge.url, event)).json()) as PublishResponse
    const before = (await readStream(setup.nc)).length

    const again = await postEvents(setup.bridge.url, { events: [event, event] })
    expect(again.status).toBe(202)
    const body = (await again.json()) as PublishResponse
    expect(body.results).toEqual([
      { event_id: event.event_id, stream: STREAM_NAME, seq: first.results[0]?.seq, duplicate: true },
      { event_id: event.event_id, stream: STREAM_NAME, seq: first.results[0]?.seq, duplicate: true },
    ])
    const after = await readStream(setup.nc)
    expect(after).toHaveLength(before)
    expect(after.filter((m) => m.headers?.get('Nats-Msg-Id') === event.event_id)).toHaveLength(1)
  })

  it('carries a valid traceparent header onto the message', async () => {
    const event = entityRegistered()
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const res = await postEvents(setup.bridge.url, event, {
      ...bearer(),
      'content-type': 'application/json',
      traceparent,
    })
    expect(res.status).toBe(202)
    const stored = (await readStream(setup.nc)).find((m) => m.headers?.get('Nats-Msg-Id') === event.event_id)
    expect(stored?.headers?.get('traceparent')).toBe(traceparent)
  })
})

describe('health and metrics', () => {
  it('/health and /ready answer 200 while connected', async () => {
    const health = await fetch(`${setup.bridge.url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const ready = await fetch(`${setup.bridge.url}/ready`)
    expect(ready.status).toBe(200)
  })

  it('/health/detailed reports the connection and the stream', async () => {
    const res = await fetch(`${setup.bridge.url}/health/detailed`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      nats: { state: string; server: string; reconnects: number; max_payload: number }
      stream: { name: string; ready: boolean; info: { messages: number; subjects: string[] } }
    }
    expect(body.nats).toMatchObject({
      state: 'connected',
      server: `127.0.0.1:${setup.nats.port}`,
      reconnects: 0,
    })
    expect(body.nats.max_payload).toBeGreaterThan(0)
    expect(body.stream).toMatchObject({ name: STREAM_NAME, ready: true })
    expect(body.stream.info.messages).toBeGreaterThan(0)
    expect(body.stream.info.subjects).toContain('library.entity.registered')
    expect(body.stream.info.subjects).not.toContain('library.>')
  })

  it('/metrics exposes connection state, publish outcomes, latencies and HTTP counts', async () => {
    const res = await fetch(`${setup.bridge.url}/metrics`)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('bridge_nats_connection_state{state="connected"} 1')
    expect(text).toContain('bridge_nats_connection_state{state="reconnecting"} 0')
    expect(text).toMatch(/bridge_nats_state_since_timestamp_seconds \d+/)
    expect(text).toContain('bridge_nats_connect_attempts 0')
    expect(text).toContain('bridge_stream_ready 1')
    expect(text).toMatch(
      /bridge_events_published_total\{outcome="acked",event_type="entity.registered"\} \d+/,
    )
    expect(text).toMatch(
      /bridge_events_published_total\{outcome="duplicate",event_type="entity.registered"\} 2/,
    )
    expect(text).toMatch(/bridge_publish_duration_seconds_count \d+/)
    expect(text).toMatch(/bridge_http_requests_total\{method="POST",route="\/v1\/events",status="202"\} \d+/)
    expect(text).toContain('process_cpu_seconds_total')
  })
})
