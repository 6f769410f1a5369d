import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats'
import * as v from 'valibot'
import { STREAM_NAME } from '../../shared/subjects'
import type { BridgeConfig } from '../config'
import { CONSUMER_NOT_FOUND, isApiError, STREAM_NOT_FOUND } from '../nats/api-error'
import { DeliveryStatus, SubscriptionRecord } from './schema'

export const REGISTRY_BUCKET = 'library_subscriptions'
export const STATUS_BUCKET = 'library_subscription_status'
export const DEAD_LETTER_STREAM = 'LIBRARY_DLQ'
export const REPLAY_STREAM = 'LIBRARY_DLQ_REPLAY'

export const deadLetterSubject = (name: string) => `library_dlq.${name}`
export const replaySubject = (name: string) => `library_dlq_replay.${name}`
export const eventsConsumerName = (name: string) => `webhook_${name}`
export const replayConsumerName = (name: string) => `webhook_${name}_replay`

export interface Store {
  registry: KV
  status: KV
}

/** Creates (or binds to) the KV buckets and the dead-letter streams. Idempotent. */
export const ensureStore = async (
  js: JetStreamClient,
  jsm: JetStreamManager,
  config: Pick<BridgeConfig, 'stream' | 'webhooks'>,
): Promise<Store> => {
  const storage = config.stream.storage === 'memory' ? StorageType.Memory : StorageType.File
  const replicas = config.stream.replicas
  const registry = await js.views.kv(REGISTRY_BUCKET, { history: 1, replicas, storage })
  const status = await js.views.kv(STATUS_BUCKET, { history: 1, replicas, storage })
  await ensureAuxStream(jsm, {
    name: DEAD_LETTER_STREAM,
    subjects: ['library_dlq.*'],
    retention: RetentionPolicy.Limits,
    storage,
    num_replicas: replicas,
    max_age: nanos(config.webhooks.deadLetterMaxAgeMs),
  })
  await ensureAuxStream(jsm, {
    name: REPLAY_STREAM,
    subjects: ['library_dlq_replay.*'],
    retention: RetentionPolicy.Workqueue,
    storage,
    num_replicas: replicas,
  })
  return { registry, status }
}

/** Creates the stream, or brings the settings that may change (retention age, replicas) up to date. */
const ensureAuxStream = async (
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager['streams']['add']>[0] & { name: string },
) => {
  let current: Awaited<ReturnType<JetStreamManager['streams']['info']>>['config']
  try {
    current = (await jsm.streams.info(config.name)).config
  } catch (err) {
    if (!isApiError(err, STREAM_NOT_FOUND)) throw err
    await jsm.streams.add(config)
    return
  }
  const maxAge = config.max_age ?? 0
  const replicas = config.num_replicas ?? current.num_replicas
  if (current.max_age !== maxAge || current.num_replicas !== replicas)
    await jsm.streams.update(config.name, { ...current, max_age: maxAge, num_replicas: replicas })
}

export const readRecord = (value: Uint8Array): SubscriptionRecord | undefined => {
  try {
    const parsed = v.safeParse(SubscriptionRecord, JSON.parse(new TextDecoder().decode(value)))
    return parsed.success ? parsed.output : undefined
  } catch {
    return undefined
  }
}

export const getRecord = async (
  kv: KV,
  name: string,
): Promise<{ record: SubscriptionRecord; revision: number } | undefined> => {
  const entry = await kv.get(name)
  if (entry?.operation !== 'PUT') return undefined
  const record = readRecord(entry.value)
  return record ? { record, revision: entry.revision } : undefined
}

export const encodeRecord = (record: SubscriptionRecord): string => JSON.stringify(record)

const READ_ALL_TIMEOUT_MS = 10_000

/**
 * Every record of the registry as the server holds it now, read through one ordered consumer
 * (the last value per key) rather than one request per key.
 */
export const readRecords = async (kv: KV): Promise<SubscriptionRecord[]> => {
  const records = new Map<string, SubscriptionRecord>()
  let initialized = false
  let watcher: Awaited<ReturnType<KV['watch']>> | undefined
  watcher = await kv.watch({
    key: '>',
    initializedFn: () => {
      initialized = true
      watcher?.stop()
    },
  })
  const iterator = watcher
  // Initialized before `watch` returned: what was there is queued, and ends the iteration once read.
  if (initialized) iterator.stop()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      iterator.stop()
      reject(new Error('reading the subscription registry timed out'))
    }, READ_ALL_TIMEOUT_MS)
  })
  const read = (async () => {
    for await (const entry of iterator) {
      const record = entry.operation === 'PUT' ? readRecord(entry.value) : undefined
      if (record) records.set(entry.key, record)
      else records.delete(entry.key)
    }
  })()
  try {
    await Promise.race([read, timeout])
  } finally {
    clearTimeout(timer)
  }
  if (!initialized) throw new Error('the subscription registry watch ended early')
  return [...records.values()]
}

export const readStatus = async (kv: KV, name: string): Promise<DeliveryStatus> => {
  const entry = await kv.get(name)
  if (entry?.operation !== 'PUT') return { last_error: null }
  try {
    const parsed = v.safeParse(DeliveryStatus, JSON.parse(new TextDecoder().decode(entry.value)))
    return parsed.success ? parsed.output : { last_error: null }
  } catch {
    return { last_error: null }
  }
}

/** Delivery consumers are a pure function of the record, so any replica can (re)create them. */
export const eventsConsumerConfig = (
  record: SubscriptionRecord,
  ackWaitMs: number,
): Partial<ConsumerConfig> & { durable_name: string } => ({
  durable_name: eventsConsumerName(record.name),
  description: `webhook subscription ${record.name}`,
  filter_subject: record.subject,
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(ackWaitMs),
  // Dead-lettering is done by the bridge after `record.max_deliver` attempts.
  max_deliver: -1,
  max_ack_pending: record.ordered ? 1 : record.max_in_flight,
  deliver_policy: DeliverPolicy.StartTime,
  opt_start_time: record.created_at,
})

export const replayConsumerConfig = (
  record: SubscriptionRecord,
  ackWaitMs: number,
): Partial<ConsumerConfig> & { durable_name: string } => ({
  durable_name: replayConsumerName(record.name),
  description: `dead-letter replay of webhook subscription ${record.name}`,
  filter_subject: replaySubject(record.name),
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(ackWaitMs),
  max_deliver: -1,
  max_ack_pending: record.ordered ? 1 : record.max_in_flight,
  deliver_policy: DeliverPolicy.All,
})

/** Settings that follow the record and the bridge configuration after the consumer exists. */
const UPDATABLE = ['description', 'filter_subject', 'ack_wait', 'max_deliver', 'max_ack_pending'] as const

const consumerChanges = (
  current: Partial<ConsumerConfig>,
  wanted: Partial<ConsumerConfig>,
): Partial<ConsumerConfig> | undefined => {
  const changes: Partial<ConsumerConfig> = {}
  for (const key of UPDATABLE) {
    if (wanted[key] !== undefined && wanted[key] !== current[key])
      Object.assign(changes, { [key]: wanted[key] })
  }
  return Object.keys(changes).length > 0 ? changes : undefined
}

/**
 * Creates the consumer unless it exists, else brings its updatable settings in line; a concurrent
 * creation by another replica is fine. Returns why the server refused an update, if it did: the
 * consumer then keeps its old settings (recreating it would lose its position).
 */
export const ensureConsumer = async (
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<string | undefined> => {
  let current: ConsumerInfo | undefined
  try {
    current = await jsm.consumers.info(stream, config.durable_name)
  } catch (err) {
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err
  }
  if (current) {
    const changes = consumerChanges(current.config, config)
    if (!changes) return undefined
    try {
      await jsm.consumers.update(stream, config.durable_name, changes)
      return undefined
    } catch (err) {
      if (err instanceof NatsError && err.api_error) return err.api_error.description
      throw err
    }
  }
  try {
    await jsm.consumers.add(stream, config)
  } catch (err) {
    // Lost a race with another replica creating the same consumer.
    await jsm.consumers.info(stream, config.durable_name).catch(() => {
      throw err
    })
  }
  return undefined
}

export const ensureConsumers = async (
  jsm: JetStreamManager,
  record: SubscriptionRecord,
  ackWaitMs: number,
): Promise<string[]> => {
  const refused = [
    await ensureConsumer(jsm, STREAM_NAME, eventsConsumerConfig(record, ackWaitMs)),
    await ensureConsumer(jsm, REPLAY_STREAM, replayConsumerConfig(record, ackWaitMs)),
  ]
  return refused.filter((reason) => reason !== undefined)
}

export const deleteConsumers = async (jsm: JetStreamManager, name: string) => {
  for (const [stream, durable] of [
    [STREAM_NAME, eventsConsumerName(name)],
    [REPLAY_STREAM, replayConsumerName(name)],
  ] as const) {
    await jsm.consumers.delete(stream, durable).catch((err) => {
      if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err
    })
  }
}
