import type { ServerResponse } from 'node:http'
import type { Span } from '@opentelemetry/api'
import type { Logger } from 'pino'
import type { Tracing } from '../../shared/telemetry/tracing'
import { errorMessage } from '../error-message'
import { sseBatchSpans } from '../telemetry/sse-spans'
import type { SseConfig } from './config'
import type { EventSource } from './event-source'
import type { SseMetrics } from './metrics'
import { SseConnection } from './sse-connection'

/** Counts the open streams against the global cap and pumps each source into its response. */
export class SseHub {
  #reserved = 0
  readonly #open = new Set<SseConnection>()

  constructor(
    private readonly config: SseConfig,
    private readonly metrics: SseMetrics,
    private readonly logger: Logger,
    /** Undefined while tracing is off. */
    private readonly tracing?: Tracing,
  ) {}

  /** Takes a slot under the cap; the returned release is idempotent. */
  reserve(): (() => void) | undefined {
    if (this.#reserved >= this.config.maxClients) {
      this.metrics.rejected.inc()
      return undefined
    }
    this.#reserved++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#reserved--
    }
  }

  /** Writes the response head and streams `source` until either side ends. */
  serve(
    res: ServerResponse,
    source: EventSource,
    release: () => void,
    {
      log = this.logger,
      headers = {},
      requestSpan,
    }: { log?: Logger; headers?: Record<string, string>; requestSpan?: Span } = {},
  ): SseConnection {
    const conn = new SseConnection(res, {
      heartbeatMs: this.config.heartbeatMs,
      retryMs: this.config.retryMs,
      bufferBytes: this.config.clientBufferBytes,
      cutGraceMs: this.config.cutGraceMs,
    })
    const labels = { source: source.kind }
    this.#open.add(conn)
    this.metrics.open.inc(labels)
    conn.onClose((reason) => {
      this.#open.delete(conn)
      this.metrics.open.dec(labels)
      if (reason !== 'client_closed') this.metrics.clientsCut.inc({ reason })
      if (reason === 'slow_consumer') log.warn({ source: source.kind }, 'SSE client cut: not keeping up')
      release()
      void source.close()
    })
    conn.open(headers)
    void this.#pump(conn, source, log, requestSpan)
    return conn
  }

  /** Ends every stream with a final error event (shutdown). */
  closeAll(message = 'the bridge is shutting down'): void {
    for (const conn of [...this.#open]) conn.cut('shutdown', message)
  }

  async #pump(conn: SseConnection, source: EventSource, log: Logger, requestSpan?: Span): Promise<void> {
    const labels = { source: source.kind }
    const batches = this.tracing && sseBatchSpans(this.tracing, source.kind, requestSpan)
    try {
      for await (const event of source.events) {
        if (!conn.send(event)) break
        this.metrics.eventsSent.inc(labels)
        batches?.sent(event)
      }
      if (!conn.closed) conn.cut('upstream_error', 'the subscription ended')
    } catch (err) {
      const message = errorMessage(err)
      log.warn({ err: message, source: source.kind }, 'SSE source failed')
      conn.cut('upstream_error', 'the subscription failed')
    } finally {
      batches?.end()
      await source.close()
    }
  }
}
