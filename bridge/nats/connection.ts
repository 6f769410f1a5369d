import {
  type ConnectionOptions,
  connect,
  DebugEvents,
  Events,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats'
import type { Logger } from 'pino'
import { backoffDelay } from '../../shared/backoff'
import type { BridgeConfig } from '../config'
import { redactUrl } from '../config'
import { errorMessage } from '../error-message'
import { type BridgeMetrics, CONNECTION_STATES } from '../metrics'

export type ConnectionState = (typeof CONNECTION_STATES)[number]

export interface ConnectionSnapshot {
  state: ConnectionState
  /** Server of the current (or last) connection. */
  server: string | undefined
  servers: string[]
  reconnects: number
  disconnects: number
  /** Dial attempts since the connection was last established. */
  attempts: number
  lastError: string | undefined
  since: Date
  connectedAt: Date | undefined
  maxPayload: number | undefined
}

export interface NatsHandles {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
}

type Listener = (handles: NatsHandles) => void | Promise<void>

export interface NatsConnectionHolderOptions {
  config: BridgeConfig['nats']
  logger: Logger
  metrics?: BridgeMetrics
  /** Default timeout for JetStream API calls. */
  jetStreamTimeoutMs?: number
}

/**
 * Owns the one NATS connection of the process. It is created once and reconnects forever
 * (the client's own reconnect loop, delayed by the shared backoff); everything else reads
 * the current handles from here and reacts to (re)connects through `onConnected`.
 */
export class NatsConnectionHolder {
  #handles: NatsHandles | undefined
  #state: ConnectionState = 'disconnected'
  #since = new Date()
  #connectedAt: Date | undefined
  #server: string | undefined
  #reconnects = 0
  #disconnects = 0
  #attempts = 0
  #lastError: string | undefined
  #closing = false
  #started = false
  #currentDelay = 0
  #delayIssuedAt = 0
  readonly #connected = new Set<Listener>()
  readonly #disconnected = new Set<() => void>()
  readonly #waiters = new Set<() => void>()
  readonly #options: NatsConnectionHolderOptions
  readonly #log: Logger

  constructor(options: NatsConnectionHolderOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'nats' })
    this.#publishState()
  }

  get handles(): NatsHandles | undefined {
    return this.#handles
  }

  /** The connected server's max_payload, if connected at least once. */
  get maxPayload(): number | undefined {
    return this.#handles?.nc.info?.max_payload
  }

  get state(): ConnectionState {
    return this.#state
  }

  isConnected(): boolean {
    return this.#state === 'connected' && this.#handles !== undefined
  }

  snapshot(): ConnectionSnapshot {
    return {
      state: this.#state,
      server: this.#server,
      servers: this.#options.config.servers.map(redactUrl),
      reconnects: this.#reconnects,
      disconnects: this.#disconnects,
      attempts: this.#attempts,
      lastError: this.#lastError,
      since: this.#since,
      connectedAt: this.#connectedAt,
      maxPayload: this.maxPayload,
    }
  }

  /** Runs on the first connect and after every reconnect; also right away if already connected. */
  onConnected(listener: Listener): () => void {
    this.#connected.add(listener)
    if (this.isConnected() && this.#handles) this.#notify(listener, this.#handles)
    return () => this.#connected.delete(listener)
  }

  onDisconnected(listener: () => void): () => void {
    this.#disconnected.add(listener)
    return () => this.#disconnected.delete(listener)
  }

  /** Resolves with the handles once connected, or undefined after `timeoutMs`. */
  waitForConnection(timeoutMs: number): Promise<NatsHandles | undefined> {
    if (this.isConnected()) return Promise.resolve(this.#handles)
    if (this.#state === 'closed' || timeoutMs <= 0) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#waiters.delete(done)
        resolve(this.isConnected() ? this.#handles : undefined)
      }
      const timer = setTimeout(done, timeoutMs)
      this.#waiters.add(done)
    })
  }

  /** Starts connecting in the background; the returned promise settles on the first connection. */
  start(): Promise<void> {
    if (this.#started) throw new Error('NatsConnectionHolder already started')
    this.#started = true
    const { config } = this.#options
    const options: ConnectionOptions = {
      servers: config.servers,
      name: config.name,
      user: config.user,
      pass: config.pass,
      token: config.token,
      timeout: config.connectTimeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectDelayHandler: () => this.#nextDelay(),
      pingInterval: config.pingIntervalMs,
      maxPingOut: config.maxPingsOut,
      // Otherwise every publish and request captures two stack traces up front, for errors that
      // are rare and whose codes the bridge maps anyway.
      noAsyncTraces: true,
    }
    this.#log.info({ servers: config.servers.map(redactUrl) }, 'connecting to NATS')
    return connect(options)
      .then((nc) => this.#established(nc))
      .catch((err) => {
        this.#lastError = errorMessage(err)
        this.#setState('closed')
        this.#log.error({ err: this.#lastError }, 'NATS connection failed for good')
      })
  }

  /** Drains the connection (pending publishes and replies are flushed) and stops reconnecting. */
  async close(): Promise<void> {
    this.#closing = true
    const nc = this.#handles?.nc
    if (!nc || nc.isClosed()) {
      this.#setState('closed')
      return
    }
    try {
      if (this.isConnected()) await nc.drain()
      else await nc.close()
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'error while draining NATS')
      await nc.close().catch(() => undefined)
    }
    this.#setState('closed')
  }

  /**
   * The client asks for a delay on every pass of its dial loop, not once per attempt, so the
   * attempt number only advances once the previous delay has fully elapsed.
   */
  #nextDelay(): number {
    const now = Date.now()
    if (now - this.#delayIssuedAt >= this.#currentDelay) {
      this.#currentDelay = backoffDelay(this.#attempts, {
        initialMs: this.#options.config.reconnect.initialMs,
        maxMs: this.#options.config.reconnect.maxMs,
        jitter: this.#options.config.reconnect.jitter,
      })
      this.#delayIssuedAt = now
      this.#attempts++
      this.#options.metrics?.natsAttempts.set(this.#attempts)
      if (this.#attempts === 2 || (this.#attempts > 2 && this.#attempts % 10 === 0))
        this.#log.info(
          { attempt: this.#attempts, delay_ms: this.#currentDelay },
          'NATS not reachable, retrying',
        )
    }
    return this.#currentDelay
  }

  async #established(nc: NatsConnection): Promise<void> {
    if (this.#closing) {
      await nc.close()
      return
    }
    const timeout = this.#options.jetStreamTimeoutMs ?? 5_000
    const js = nc.jetstream({ timeout })
    const jsm = await nc.jetstreamManager({ timeout, checkAPI: false })
    this.#handles = { nc, js, jsm }
    void this.#watch(nc)
    nc.closed().then((err) => {
      if (err) this.#lastError = errorMessage(err)
      this.#setState('closed')
      if (!this.#closing) this.#log.error({ err: this.#lastError }, 'NATS connection closed')
    })
    this.#connectedState(nc.getServer())
    this.#log.info({ server: this.#server, attempts: this.#attempts }, 'connected to NATS')
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      switch (status.type) {
        case Events.Disconnect:
          this.#disconnects++
          this.#options.metrics?.natsDisconnects.inc()
          this.#attempts = 0
          this.#currentDelay = 0
          this.#lastError ??= 'disconnected'
          this.#setState('reconnecting')
          this.#log.warn({ server: String(status.data) }, 'disconnected from NATS')
          for (const listener of this.#disconnected) listener()
          break
        case Events.Reconnect:
          this.#reconnects++
          this.#options.metrics?.natsReconnects.inc()
          this.#connectedState(String(status.data))
          this.#log.info({ server: this.#server, reconnects: this.#reconnects }, 'reconnected to NATS')
          break
        case Events.Error:
          this.#lastError = String(status.data)
          this.#log.warn({ err: this.#lastError }, 'NATS async error')
          break
        case Events.LDM:
          this.#log.warn({ server: String(status.data) }, 'NATS server entering lame duck mode')
          break
        case DebugEvents.StaleConnection:
          this.#lastError = 'stale connection'
          break
        default:
          break
      }
    }
  }

  #connectedState(server: string): void {
    this.#server = server
    this.#connectedAt = new Date()
    this.#attempts = 0
    this.#currentDelay = 0
    this.#setState('connected')
    const handles = this.#handles
    if (!handles) return
    for (const listener of this.#connected) this.#notify(listener, handles)
  }

  #notify(listener: Listener, handles: NatsHandles): void {
    Promise.resolve()
      .then(() => listener(handles))
      .catch((err) => this.#log.error({ err: errorMessage(err) }, 'onConnected listener failed'))
  }

  #setState(state: ConnectionState): void {
    if (this.#state !== state) {
      this.#state = state
      this.#since = new Date()
    }
    this.#publishState()
    if (state === 'connected' || state === 'closed') for (const waiter of [...this.#waiters]) waiter()
  }

  #publishState(): void {
    const metrics = this.#options.metrics
    if (!metrics) return
    for (const s of CONNECTION_STATES) metrics.natsState.set({ state: s }, s === this.#state ? 1 : 0)
    metrics.natsStateSince.set(this.#since.getTime() / 1000)
    metrics.natsAttempts.set(this.#attempts)
  }
}
