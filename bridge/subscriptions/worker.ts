import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from 'nats'
import type { Logger } from 'pino'
import { backoffDelay } from '../../shared/backoff'
import { eventTypeForSubject, STREAM_NAME } from '../../shared/subjects'
import type { Tracing } from '../../shared/telemetry/tracing'
import { traceContextFrom } from '../../shared/trace-context'
import { webhookHeaders } from '../../shared/webhook-signing'
import { errorMessage } from '../error-message'
import { type WebhookSpans, webhookSpans } from '../telemetry/webhook-spans'
import { coarseReason } from './coarse-error'
import type { WebhookConfig } from './config'
import { deadLetter, originOf } from './dead-letters'
import { type DeliveryOutcome, deliver } from './deliver'
import type { WebhookMetrics } from './metrics'
import type { DeliveryStatus, SubscriptionRecord } from './schema'
import type { ResolveAll } from './ssrf-guard'
import {
  deleteConsumers,
  ensureConsumers,
  eventsConsumerName,
  getRecord,
  REPLAY_STREAM,
  replayConsumerName,
  type Store,
} from './store'

export interface WorkerDeps {
  js: JetStreamClient
  jsm: JetStreamManager
  store: Store
  config: WebhookConfig
  metrics: WebhookMetrics
  logger: Logger
  /** Called on 410 Gone: the subscription is to be disabled everywhere. */
  disable(name: string, reason: string): Promise<void>
  resolve?: ResolveAll
  /** Undefined while tracing is off. */
  tracing?: Tracing
}

interface EventMeta {
  id: string
  type: string
  time: string
  source: string
}

const PULL_EXPIRES_MS = 5_000

/** The message's own trace context goes on to the receiver (tracing off). */
const passTraceContext = (
  carried: (name: string) => string | undefined,
  set: (name: string, value: string) => void,
) => {
  const context = traceContextFrom(carried)
  if (!context) return
  set('traceparent', context.traceparent)
  if (context.tracestate) set('tracestate', context.tracestate)
}

const eventMeta = (m: JsMsg, body: string): EventMeta => {
  const origin = originOf(m)
  const fallback: EventMeta = {
    id: `${origin.stream}:${origin.seq}`,
    type: eventTypeForSubject(origin.subject) ?? origin.subject,
    time: new Date(m.info.timestampNanos / 1e6).toISOString(),
    source: 'library_service',
  }
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    const text = (value: unknown, otherwise: string) =>
      typeof value === 'string' && value !== '' ? value : otherwise
    return {
      id: text(parsed.event_id, fallback.id),
      type: text(parsed.event_type, fallback.type),
      time: text(parsed.timestamp, fallback.time),
      source: text(parsed.source, fallback.source),
    }
  } catch {
    return fallback
  }
}

/**
 * Delivers one subscription's messages from this replica: pulls from its durable consumers (the
 * event stream and its dead-letter replay queue), so replicas share the work message by message.
 */
export class SubscriptionWorker {
  #stopped = false
  #free: number
  readonly #waiters: Array<() => void> = []
  readonly #iterators = new Set<ConsumerMessages>()
  readonly #inFlight = new Set<Promise<void>>()
  readonly #loops: Promise<void>[] = []
  readonly #log: Logger
  readonly #spans: WebhookSpans | undefined

  constructor(
    readonly record: SubscriptionRecord,
    private readonly deps: WorkerDeps,
  ) {
    this.#free = record.ordered ? 1 : record.max_in_flight
    this.#log = deps.logger.child({ subscription: record.name })
    this.#spans = deps.tracing && webhookSpans(deps.tracing)
  }

  start(): void {
    this.#loops.push(this.#run(STREAM_NAME, eventsConsumerName(this.record.name)))
    this.#loops.push(this.#run(REPLAY_STREAM, replayConsumerName(this.record.name)))
  }

  /** Stops pulling and waits for the deliveries in progress to settle. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const waiter of this.#waiters.splice(0)) waiter()
    for (const it of this.#iterators) it.stop()
    await Promise.allSettled([...this.#inFlight])
    await Promise.allSettled(this.#loops)
  }

  async #run(stream: string, durable: string): Promise<void> {
    const limit = this.record.ordered ? 1 : this.record.max_in_flight
    for (let failures = 0; !this.#stopped; ) {
      try {
        // A subscription deleted meanwhile must not get its consumers back.
        if (!(await getRecord(this.deps.store.registry, this.record.name))) return
        const refused = await ensureConsumers(this.deps.jsm, this.record, this.deps.config.ackWaitMs)
        // Deleted (or withdrawn over a limit) meanwhile: its remover may have deleted the consumers
        // before these calls made them again, so they are removed here.
        if (!(await getRecord(this.deps.store.registry, this.record.name))) {
          await deleteConsumers(this.deps.jsm, this.record.name)
          return
        }
        for (const reason of refused)
          this.#log.warn({ err: reason }, 'the server kept the consumer settings it had')
        const consumer = await this.deps.js.consumers.get(stream, durable)
        // Short pulls: the server keeps feeding a pull request until it expires, even after this
        // worker stopped, and what it hands to a stopped worker waits out the ack wait.
        const messages = await consumer.consume({ max_messages: limit, expires: PULL_EXPIRES_MS })
        this.#iterators.add(messages)
        if (this.#stopped) messages.stop()
        failures = 0
        for await (const m of messages) {
          await this.#acquire()
          if (this.#stopped) {
            m.nak()
            this.#release()
            break
          }
          this.deps.metrics.inFlight.inc()
          const task = this.#handle(m)
            .catch((err) =>
              this.#log.error({ err: errorMessage(err), seq: m.seq }, 'delivery handling failed'),
            )
            .finally(() => {
              this.deps.metrics.inFlight.dec()
              this.#inFlight.delete(task)
              this.#release()
            })
          this.#inFlight.add(task)
        }
        this.#iterators.delete(messages)
      } catch (err) {
        if (this.#stopped) return
        this.#log.warn({ err: errorMessage(err), stream }, 'delivery consumer failed; retrying')
      }
      if (!this.#stopped) {
        const delay = backoffDelay(failures++, { initialMs: 250, maxMs: 10_000 })
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }

  #acquire(): Promise<void> {
    if (this.#free > 0 || this.#stopped) {
      this.#free--
      return Promise.resolve()
    }
    return new Promise((resolve) =>
      this.#waiters.push(() => {
        this.#free--
        resolve()
      }),
    )
  }

  #release(): void {
    this.#free++
    const next = this.#waiters.shift()
    if (next) next()
  }

  async #handle(m: JsMsg): Promise<void> {
    const { record, deps } = this
    const attempt = m.info.redeliveryCount
    const body = m.string()
    const meta = eventMeta(m, body)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'library-bridge',
      ...(await webhookHeaders({ secret: record.secret, id: meta.id, body })),
      'ce-id': meta.id,
      'ce-type': meta.type,
      'ce-source': meta.source,
      'ce-time': meta.time,
      'ce-specversion': '1.0',
    }
    const carried = (name: string) => m.headers?.get(name)
    const setHeader = (name: string, value: string) => {
      headers[name] = value
    }
    const { tracing } = deps
    const span =
      tracing &&
      this.#spans?.start({
        subscription: record.name,
        url: record.url,
        attempt,
        eventId: meta.id,
        parent: tracing.extract(carried),
      })
    if (tracing && span) tracing.inject(span, setHeader)
    else passTraceContext(carried, setHeader)
    const started = performance.now()
    const outcome = await deliver({
      url: record.url,
      body,
      headers,
      timeoutMs: deps.config.timeoutMs,
      policy: deps.config.ssrf,
      resolve: deps.resolve,
    })
    if (this.#spans && span)
      this.#spans.end(
        span,
        outcome,
        outcome.kind !== 'delivered' && outcome.kind !== 'gone' && attempt >= record.max_deliver,
      )
    deps.metrics.deliveries.inc({ subscription: record.name, outcome: outcome.kind })
    deps.metrics.duration.observe({ outcome: outcome.kind }, (performance.now() - started) / 1000)

    if (outcome.kind === 'delivered') {
      await m
        .ackAck()
        .catch((err) => this.#log.warn({ err: errorMessage(err), seq: m.seq }, 'ack not confirmed'))
      return
    }
    void this.#recordError(outcome, meta.id, attempt)
    // Jitter never brings a retry under the pacing floor (nor under initial_ms when that is lower).
    const retryDelay = Math.max(
      Math.min(record.backoff.initial_ms, deps.config.pacing.initialMinMs),
      backoffDelay(attempt - 1, {
        initialMs: record.backoff.initial_ms,
        maxMs: record.backoff.max_ms,
        factor: record.backoff.factor,
        jitter: record.backoff.jitter,
      }),
    )
    if (outcome.kind === 'gone') {
      this.#log.warn(
        { url: record.url, event_id: meta.id },
        'receiver answered 410 Gone; disabling subscription',
      )
      await deps
        .disable(record.name, outcome.error)
        .catch((err) => this.#log.error({ err: errorMessage(err) }, 'cannot disable subscription'))
      m.nak(retryDelay)
      return
    }
    if (attempt >= record.max_deliver) {
      await deadLetter(deps.js, record.name, m, coarseReason(outcome), attempt)
      deps.metrics.deadLetters.inc({ subscription: record.name })
      this.#log.warn({ event_id: meta.id, attempts: attempt, err: outcome.error }, 'delivery dead-lettered')
      await m.ackAck()
      return
    }
    const delay =
      outcome.kind === 'rate_limited' && outcome.retryAfterMs !== undefined
        ? Math.min(outcome.retryAfterMs, deps.config.retryAfterMaxMs)
        : retryDelay
    this.#log.info({ event_id: meta.id, attempt, retry_in_ms: delay, err: outcome.error }, 'delivery failed')
    m.nak(delay)
  }

  async #recordError(
    outcome: Exclude<DeliveryOutcome, { kind: 'delivered' }>,
    eventId: string,
    attempt: number,
  ) {
    const status: DeliveryStatus = {
      last_error: {
        message: coarseReason(outcome),
        status: 'status' in outcome && outcome.status !== undefined ? outcome.status : null,
        event_id: eventId,
        at: new Date().toISOString(),
        attempt,
      },
    }
    await this.deps.store.status
      .put(this.record.name, JSON.stringify(status))
      .catch((err) => this.#log.warn({ err: errorMessage(err) }, 'cannot record delivery error'))
  }
}
