import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from 'nats'
import type { Logger } from 'pino'
import { backoffDelay } from '../../shared/backoff'
import { STREAM_NAME, STREAM_SUBJECTS } from '../../shared/subjects'
import type { BridgeConfig } from '../config'
import { errorMessage } from '../error-message'
import type { BridgeMetrics } from '../metrics'
import { isApiError, STREAM_NOT_FOUND } from './api-error'
import type { NatsConnectionHolder } from './connection'

export const streamConfig = (settings: BridgeConfig['stream']): Partial<StreamConfig> => ({
  name: STREAM_NAME,
  subjects: [...STREAM_SUBJECTS],
  retention: RetentionPolicy.Limits,
  storage: settings.storage === 'memory' ? StorageType.Memory : StorageType.File,
  num_replicas: settings.replicas,
  max_age: nanos(settings.maxAgeMs),
  duplicate_window: nanos(settings.duplicateWindowMs),
  max_bytes: settings.maxBytes,
  discard: DiscardPolicy.Old,
})

const sameSubjects = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ')

/** Creates the stream, or brings an existing one to the wanted subjects and limits. */
export const ensureStream = async (
  jsm: JetStreamManager,
  settings: BridgeConfig['stream'],
  logger?: Logger,
): Promise<{ info: StreamInfo; action: 'created' | 'updated' | 'unchanged' }> => {
  const wanted = streamConfig(settings)
  let existing: StreamInfo
  try {
    existing = await jsm.streams.info(STREAM_NAME)
  } catch (err) {
    if (isApiError(err, STREAM_NOT_FOUND)) {
      return { info: await jsm.streams.add(wanted), action: 'created' }
    }
    throw err
  }
  const current = existing.config
  if (current.storage !== wanted.storage) {
    logger?.warn(
      { stream: STREAM_NAME, current: current.storage, wanted: wanted.storage },
      'stream storage cannot be changed in place; keeping the existing storage',
    )
  }
  const differs =
    !sameSubjects(current.subjects ?? [], wanted.subjects ?? []) ||
    current.num_replicas !== wanted.num_replicas ||
    current.max_age !== wanted.max_age ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.max_bytes !== wanted.max_bytes
  if (!differs) return { info: existing, action: 'unchanged' }
  const { name: _name, storage: _storage, retention: _retention, ...update } = wanted
  const info = await jsm.streams.update(STREAM_NAME, { ...current, ...update })
  return { info, action: 'updated' }
}

export interface StreamStatus {
  name: string
  ready: boolean
  lastError: string | undefined
  ensuredAt: Date | undefined
}

/** Ensures the stream on every (re)connect, retrying with backoff while the connection lasts. */
export class StreamKeeper {
  #ready = false
  #lastError: string | undefined
  #ensuredAt: Date | undefined
  #generation = 0
  #checking = false
  readonly #log: Logger

  constructor(
    private readonly holder: NatsConnectionHolder,
    private readonly settings: BridgeConfig['stream'],
    logger: Logger,
    private readonly metrics?: BridgeMetrics,
  ) {
    this.#log = logger.child({ component: 'stream' })
    metrics?.streamReady.set(0)
    holder.onDisconnected(() => {
      this.#generation++
      this.#setReady(false)
    })
    holder.onConnected(({ jsm }) => this.#ensureLoop(jsm, ++this.#generation))
  }

  /** Ensures the stream again now, e.g. after a publish found no stream (someone deleted it). */
  recheck(): void {
    const handles = this.holder.handles
    if (this.#checking || !handles || !this.holder.isConnected()) return
    this.#setReady(false)
    void this.#ensureLoop(handles.jsm, this.#generation)
  }

  get ready(): boolean {
    return this.#ready
  }

  status(): StreamStatus {
    return { name: STREAM_NAME, ready: this.#ready, lastError: this.#lastError, ensuredAt: this.#ensuredAt }
  }

  async #ensureLoop(jsm: JetStreamManager, generation: number): Promise<void> {
    this.#checking = true
    try {
      await this.#ensure(jsm, generation)
    } finally {
      this.#checking = false
    }
  }

  async #ensure(jsm: JetStreamManager, generation: number): Promise<void> {
    for (let attempt = 0; generation === this.#generation && this.holder.isConnected(); attempt++) {
      try {
        const { action } = await ensureStream(jsm, this.settings, this.#log)
        if (generation !== this.#generation) return
        this.#lastError = undefined
        this.#ensuredAt = new Date()
        this.#setReady(true)
        this.#log.info({ stream: STREAM_NAME, action }, 'stream ensured')
        return
      } catch (err) {
        this.#lastError = errorMessage(err)
        this.#setReady(false)
        const delay = backoffDelay(attempt, { initialMs: 250, maxMs: 10_000 })
        this.#log.warn(
          { stream: STREAM_NAME, err: this.#lastError, retry_in_ms: delay },
          'cannot ensure stream',
        )
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }

  #setReady(ready: boolean): void {
    this.#ready = ready
    this.metrics?.streamReady.set(ready ? 1 : 0)
  }
}
