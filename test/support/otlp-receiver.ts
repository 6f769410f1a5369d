import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** One span as an OTLP/HTTP JSON export carries it (ids in hex, attributes flattened). */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  /** OTLP numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number
  attributes: Record<string, unknown>
  links: Array<{ traceId: string; spanId: string }>
  status: { code?: number; message?: string }
  /** service.name of the resource that sent it. */
  service: string
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const

/** Matches the spans whose parent is `parent` (a received span, or the ids of a traceparent). */
export const childOf =
  (parent: { traceId: string; spanId: string }) =>
  (span: ReceivedSpan): boolean =>
    span.traceId === parent.traceId && span.parentSpanId === parent.spanId

interface AnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: number | string
  doubleValue?: number
  arrayValue?: { values?: AnyValue[] }
}
interface KeyValue {
  key: string
  value?: AnyValue
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] }
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string
        spanId: string
        parentSpanId?: string
        name: string
        kind: number
        attributes?: KeyValue[]
        links?: Array<{ traceId: string; spanId: string }>
        status?: { code?: number; message?: string }
      }>
    }>
  }>
}

const plainValue = (value: AnyValue | undefined): unknown => {
  if (!value) return undefined
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plainValue)
  return undefined
}

const flatten = (attributes: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, plainValue(value)]))

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  endpoint: string
  /** Environment that turns a bridge or executor process's tracing on, exporting here within ~50 ms. */
  env: Record<string, string>
  /** Every span received so far. */
  spans(): ReceivedSpan[]
  /** How many export requests arrived, and which content types they used. */
  exports(): { count: number; contentTypes: string[] }
  /** Resolves with the first span `predicate` accepts; rejects after `timeoutMs`. */
  waitForSpan(predicate: (span: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>
  close(): Promise<void>
}

/**
 * An OTLP/HTTP trace receiver (JSON encoding, as `@opentelemetry/exporter-trace-otlp-http`
 * sends): records every span exported to it and answers as a collector does.
 */
export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const received: ReceivedSpan[] = []
  const contentTypes: string[] = []
  const waiters = new Set<() => void>()
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end()
      return
    }
    const contentType = req.headers['content-type'] ?? ''
    contentTypes.push(contentType)
    if (!contentType.startsWith('application/json')) {
      res.writeHead(415).end()
      return
    }
    const request = JSON.parse(body.toString('utf8')) as ExportRequest
    for (const resourceSpans of request.resourceSpans ?? []) {
      const service = String(flatten(resourceSpans.resource?.attributes)['service.name'] ?? '')
      for (const scope of resourceSpans.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          received.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: flatten(span.attributes),
            links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
            status: span.status ?? {},
            service,
          })
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    for (const waiter of [...waiters]) waiter()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '50' },
    spans: () => [...received],
    exports: () => ({ count: contentTypes.length, contentTypes: [...contentTypes] }),
    waitForSpan: (predicate, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const span = received.find(predicate)
          if (!span) return
          cleanup()
          resolve(span)
        }
        const timer = setTimeout(() => {
          cleanup()
          const names = received.map((s) => `${s.service}:${s.name}`).join(', ')
          reject(new Error(`no matching span within ${timeoutMs} ms; received: ${names || 'none'}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
