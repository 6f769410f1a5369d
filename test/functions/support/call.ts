import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import type { Bindings } from '../../../functions/env'
import worker from '../../../functions/index'
import { TEST_API_KEYS } from './api-keys'

export interface CallOptions {
  method?: string
  /** Sent as JSON with content-type application/json. */
  json?: unknown
  /** Sent as is. */
  body?: string
  headers?: Record<string, string>
  /** API key; null sends no Authorization header. Default: the writer key. */
  key?: string | null
  /** Bindings replaced for this call. */
  env?: Partial<Record<keyof Bindings, string | undefined>>
}

// biome-ignore lint/suspicious/noExplicitAny: assertions walk untyped response JSON
export type Json = any

export interface CallResult<T = Json> {
  status: number
  headers: Headers
  body: T
}

export const testEnv = (overrides: CallOptions['env'] = {}): Bindings =>
  ({ ...env, ...overrides }) as Bindings

/**
 * Calls the Worker's fetch handler and waits for its waitUntil work (post-commit delivery, pool
 * shutdown), so a test sees the state after the request is completely done.
 */
export const call = async <T = Json>(path: string, options: CallOptions = {}): Promise<CallResult<T>> => {
  const headers = new Headers(options.headers)
  const key = options.key === undefined ? TEST_API_KEYS.writer.key : options.key
  if (key !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${key}`)
  let body: string | undefined = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST')
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`http://functions.test${path}`, { method, headers, body }),
    testEnv(options.env),
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const text = await res.text()
  let parsed: unknown = text
  if (res.headers.get('content-type')?.includes('json')) parsed = JSON.parse(text)
  return { status: res.status, headers: res.headers, body: parsed as T }
}

let counter = 0
/** A name no other test (or earlier run against the same database) uses. */
export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${(counter++).toString(36)}_${crypto.randomUUID().slice(0, 8)}`
