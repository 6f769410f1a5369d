import { randomUUID } from 'node:crypto'
import type { JetStreamClient } from 'nats'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `probe` returns something truthy (the test timeout bounds the wait). */
export const eventually = async <T>(
  probe: () => Promise<T | undefined | false>,
  intervalMs = 100,
): Promise<T> => {
  for (;;) {
    const value = await probe()
    if (value) return value
    await sleep(intervalMs)
  }
}

export const makeEvent = (type: string, n: number) => ({
  event_id: randomUUID(),
  event_type: type,
  timestamp: new Date().toISOString(),
  source: 'library_service',
  entity_id: null,
  deployment_id: null,
  swap_id: null,
  data: { n },
  metadata: {},
})

export type TestEvent = ReturnType<typeof makeEvent>

export const publishEvents = async (js: JetStreamClient, type: string, count: number, from = 0) => {
  const events: TestEvent[] = []
  for (let i = 0; i < count; i++) {
    const event = makeEvent(type, from + i)
    await js.publish(`library.${type}`, JSON.stringify(event), { msgID: event.event_id })
    events.push(event)
  }
  return events
}

// biome-ignore lint/suspicious/noExplicitAny: tests inspect response bodies field by field
type Json = any

export type Api = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; json: Json }>

export const apiClient =
  (baseUrl: string, defaultToken: string): Api =>
  async (method, path, body, token = defaultToken) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined }
  }
