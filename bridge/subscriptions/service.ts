import type { JetStreamClient, JetStreamManager, KvEntry, NatsConnection } from 'nats'
import type { Logger } from 'pino'
import { backoffDelay } from '../../shared/backoff'
import type { SubscriptionState, SubscriptionStats } from '../../shared/bridge-contract'
import { STREAM_NAME } from '../../shared/subjects'
import type { Tracing } from '../../shared/telemetry/tracing'
import type { BridgeConfig } from '../config'
import { errorMessage } from '../error-message'
import { isApiError, WRONG_LAST_SEQUENCE } from '../nats/api-error'
import type { NatsConnectionHolder } from '../nats/connection'
import type { WebhookConfig } from './config'
import { countDeadLetters, countPendingReplays, purgeDeadLetters, replayDeadLetters } from './dead-letters'
import type { WebhookMetrics } from './metrics'
import type { DeliveryStatus, SubscriptionRecord } from './schema'
import type { ResolveAll } from './ssrf-guard'
import {
  deleteConsumers,
  encodeRecord,
  ensureConsumers,
  ensureStore,
  eventsConsumerName,
  getRecord,
  readRecord,
  readRecords,
  readStatus,
  type Store,
} from './store'
import { SubscriptionWorker } from './worker'

export interface WebhookServiceOptions {
  config: Pick<BridgeConfig, 'stream' | 'webhooks'>
  nats: NatsConnectionHolder
  metrics: WebhookMetrics
  logger: Logger
  resolve?: ResolveAll
  tracing?: Tracing
}

export interface Connected {
  js: JetStreamClient
  jsm: JetStreamManager
  store: Store
}

export class NotConnectedError extends Error {}
export class ConflictError extends Error {}

/** Creating one more subscription would pass a configured limit. */
export class LimitError extends Error {
  constructor(
    readonly code: 'subscription_limit_principal' | 'subscription_limit_total',
    readonly limit: number,
    message: string,
  ) {
    super(message)
    this.name = 'LimitError'
  }
}

/** Over a limit only because of creations that raced this one: worth another try. */
class RacedError extends Error {
  constructor(readonly limit: LimitError) {
    super(limit.message)
  }
}

const CREATE_ATTEMPTS = 4

/** Throws when `records` (the registry, `record` included or not) hold more than the limits allow. */
const checkLimits = (
  records: readonly SubscriptionRecord[],
  record: SubscriptionRecord,
  limits: WebhookConfig['limits'],
  included: boolean,
): void => {
  const extra = included ? 0 : 1
  const own = records.filter((r) => r.created_by === record.created_by).length + extra
  if (own > limits.perPrincipal)
    throw new LimitError(
      'subscription_limit_principal',
      limits.perPrincipal,
      `This principal has reached its limit of ${limits.perPrincipal} subscriptions`,
    )
  if (records.length + extra > limits.total)
    throw new LimitError(
      'subscription_limit_total',
      limits.total,
      `The bridge has reached its limit of ${limits.total} subscriptions`,
    )
}

/**
 * The webhook side of the bridge on this replica: binds the registry (a KV bucket every replica
 * watches) and runs one worker per active subscription.
 */
export class WebhookService {
  #connected: Connected | undefined
  /** The registry was bound on the current connection. */
  #bound = false
  #generation = 0
  #lastError: string | undefined
  #attachedTo: NatsConnection | undefined
  #stopped = false
  #watch: { stop(): void } | undefined
  readonly #workers = new Map<string, SubscriptionWorker>()
  readonly #log: Logger

  constructor(private readonly options: WebhookServiceOptions) {
    this.#log = options.logger.child({ component: 'webhooks' })
    options.nats.onDisconnected(() => {
      this.#generation++
      this.#bound = false
    })
    options.nats.onConnected(({ nc, js, jsm }) => this.#attach(nc, js, jsm, ++this.#generation))
  }

  /** True once the registry is bound on the current connection: `/v1/subscriptions` can answer. */
  get ready(): boolean {
    return this.#bound && this.options.nats.isConnected()
  }

  get lastError(): string | undefined {
    return this.#lastError
  }

  get connected(): Connected {
    if (!this.#connected || !this.options.nats.isConnected())
      throw new NotConnectedError('the subscription registry is not available')
    return this.#connected
  }

  /** Stops every worker (in-flight deliveries finish and are acked). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#watch?.stop()
    const workers = [...this.#workers.values()]
    this.#workers.clear()
    this.options.metrics.workers.set(0)
    await Promise.allSettled(workers.map((w) => w.stop()))
  }

  /**
   * Registers `record` within the limits, counted in the registry every replica shares. Each
   * creation counts again once its own entry is stored and withdraws it when over a limit: of
   * creations racing for the last places the later ones always see the earlier, so the limits
   * are never passed. Racers that all withdrew try again after a random pause.
   */
  async create(record: SubscriptionRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#createWithinLimits(record)
      } catch (err) {
        if (!(err instanceof RacedError)) throw err
        if (attempt >= CREATE_ATTEMPTS) throw err.limit
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt))
      }
    }
  }

  async #createWithinLimits(record: SubscriptionRecord): Promise<void> {
    const { store, jsm } = this.connected
    const { limits } = this.options.config.webhooks
    const before = await readRecords(store.registry)
    if (before.some((r) => r.name === record.name))
      throw new ConflictError(`subscription ${record.name} exists`)
    checkLimits(before, record, limits, false)
    try {
      await store.registry.create(record.name, encodeRecord(record))
    } catch (err) {
      if (await getRecord(store.registry, record.name).catch(() => undefined))
        throw new ConflictError(`subscription ${record.name} exists`)
      throw err
    }
    try {
      checkLimits(await readRecords(store.registry), record, limits, true)
    } catch (err) {
      await this.remove(record.name).catch((cleanup) =>
        this.#log.warn(
          { err: errorMessage(cleanup), subscription: record.name },
          'cannot withdraw subscription',
        ),
      )
      throw err instanceof LimitError ? new RacedError(err) : err
    }
    try {
      await ensureConsumers(jsm, record, this.options.config.webhooks.ackWaitMs)
    } catch (err) {
      await store.registry.delete(record.name).catch(() => undefined)
      throw err
    }
    await store.status.delete(record.name).catch(() => undefined)
  }

  async list(): Promise<SubscriptionRecord[]> {
    const records = await readRecords(this.connected.store.registry)
    return records.sort((a, b) => a.name.localeCompare(b.name))
  }

  async get(name: string): Promise<SubscriptionRecord | undefined> {
    return (await getRecord(this.connected.store.registry, name))?.record
  }

  async details(record: SubscriptionRecord): Promise<{ stats: SubscriptionStats; status: DeliveryStatus }> {
    const { jsm, store } = this.connected
    const [info, deadLetters, replays, status] = await Promise.all([
      jsm.consumers.info(STREAM_NAME, eventsConsumerName(record.name)).catch(() => undefined),
      countDeadLetters(jsm, record.name),
      countPendingReplays(jsm, record.name),
      readStatus(store.status, record.name),
    ])
    return {
      stats: {
        pending: info?.num_pending ?? 0,
        in_flight: info?.num_ack_pending ?? 0,
        redelivered: info?.num_redelivered ?? 0,
        delivered_through_seq: info?.ack_floor.stream_seq ?? 0,
        dead_letters: deadLetters,
        replays_pending: replays,
      },
      status,
    }
  }

  async remove(name: string): Promise<boolean> {
    const { store, jsm } = this.connected
    if (!(await getRecord(store.registry, name))) return false
    await store.registry.delete(name)
    await this.#stopWorker(name)
    await deleteConsumers(jsm, name)
    await purgeDeadLetters(jsm, name)
    await store.status.delete(name).catch(() => undefined)
    return true
  }

  /** Compare-and-set on the record, so concurrent changes from other replicas are not lost. */
  async setState(
    name: string,
    state: SubscriptionState,
    reason: string | null,
  ): Promise<SubscriptionRecord | undefined> {
    const { store } = this.connected
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await getRecord(store.registry, name)
      if (!current) return undefined
      if (current.record.state === state && current.record.state_reason === reason) return current.record
      const next = { ...current.record, state, state_reason: reason, updated_at: new Date().toISOString() }
      try {
        await store.registry.update(name, encodeRecord(next), current.revision)
        return next
      } catch (err) {
        if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err
        await new Promise((resolve) =>
          setTimeout(resolve, backoffDelay(attempt, { initialMs: 20, maxMs: 500 })),
        )
      }
    }
    throw new ConflictError(`subscription ${name} keeps changing; try again`)
  }

  async replay(name: string): Promise<number> {
    const { js, jsm } = this.connected
    return replayDeadLetters(js, jsm, name)
  }

  async #attach(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, generation: number) {
    for (let attempt = 0; !this.#stopped && !nc.isClosed() && generation === this.#generation; attempt++) {
      try {
        const store = await ensureStore(js, jsm, this.options.config)
        this.#connected = { js, jsm, store }
        // Reconnects reuse the connection object, whose watcher resumes by itself.
        if (this.#attachedTo !== nc) {
          const watcher = await store.registry.watch({ key: '>' })
          this.#attachedTo = nc
          this.#follow(watcher)
        }
        if (generation !== this.#generation) return
        this.#lastError = undefined
        this.#bound = true
        return
      } catch (err) {
        this.#lastError = errorMessage(err)
        const delay = backoffDelay(attempt, { initialMs: 250, maxMs: 10_000 })
        this.#log.warn({ err: this.#lastError, retry_in_ms: delay }, 'cannot bind the subscription registry')
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }

  #follow(watcher: AsyncIterable<KvEntry> & { stop(): void }): void {
    this.#watch = watcher
    if (this.#stopped) watcher.stop()
    void (async () => {
      for await (const entry of watcher) this.#reconcile(entry)
    })().catch((err) => this.#log.error({ err: errorMessage(err) }, 'subscription registry watch ended'))
  }

  #reconcile(entry: KvEntry): void {
    if (this.#stopped || !this.#connected) return
    const name = entry.key
    const record = entry.operation === 'PUT' ? readRecord(entry.value) : undefined
    const current = this.#workers.get(name)
    const wanted = record?.state === 'active' ? record : undefined
    if (current && wanted && sameDelivery(current.record, wanted)) return
    if (current) void this.#stopWorker(name)
    if (!wanted) return
    const { js, jsm, store } = this.#connected
    const worker = new SubscriptionWorker(wanted, {
      js,
      jsm,
      store,
      config: this.options.config.webhooks,
      metrics: this.options.metrics,
      logger: this.#log,
      resolve: this.options.resolve,
      tracing: this.options.tracing,
      disable: async (subscription, reason) => {
        await this.setState(subscription, 'disabled', reason)
      },
    })
    this.#workers.set(name, worker)
    this.options.metrics.workers.set(this.#workers.size)
    worker.start()
    this.#log.info({ subscription: name, subject: wanted.subject }, 'delivering webhook subscription')
  }

  async #stopWorker(name: string): Promise<void> {
    const worker = this.#workers.get(name)
    if (!worker) return
    this.#workers.delete(name)
    this.options.metrics.workers.set(this.#workers.size)
    await worker.stop()
  }
}

const sameDelivery = (a: SubscriptionRecord, b: SubscriptionRecord) =>
  a.url === b.url &&
  a.secret === b.secret &&
  a.subject === b.subject &&
  a.max_deliver === b.max_deliver &&
  a.max_in_flight === b.max_in_flight &&
  a.ordered === b.ordered &&
  JSON.stringify(a.backoff) === JSON.stringify(b.backoff)
