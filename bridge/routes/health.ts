import { Hono } from 'hono'
import { errorBody } from '../../shared/http-error'
import { STREAM_NAME } from '../../shared/subjects'
import type { BridgeDeps } from '../deps'
import { errorMessage } from '../error-message'
import type { WebhookService } from '../subscriptions/service'
import type { BridgeEnv } from '../types'
import { healthDocs } from './health.doc'

const STREAM_INFO_TIMEOUT_MS = 1_500

const notReadyReason = (
  { nats, stream, isShuttingDown }: BridgeDeps,
  webhooks: WebhookService,
): string | undefined => {
  if (isShuttingDown?.()) return 'shutting_down'
  if (!nats.isConnected()) return `nats_${nats.state}`
  if (!stream.ready) return 'stream_not_ready'
  if (!webhooks.ready) return 'registry_not_ready'
  return undefined
}

const streamInfo = async ({ nats }: BridgeDeps) => {
  const jsm = nats.handles?.jsm
  if (!jsm || !nats.isConnected()) return undefined
  let timer: NodeJS.Timeout | undefined
  try {
    const info = await Promise.race([
      jsm.streams.info(STREAM_NAME),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('stream info timed out')), STREAM_INFO_TIMEOUT_MS)
      }),
    ])
    return {
      messages: info.state.messages,
      bytes: info.state.bytes,
      first_seq: info.state.first_seq,
      last_seq: info.state.last_seq,
      consumers: info.state.consumer_count,
      subjects: info.config.subjects,
      replicas: info.config.num_replicas,
      storage: info.config.storage,
      max_age_ms: Math.round(info.config.max_age / 1e6),
      duplicate_window_ms: Math.round((info.config.duplicate_window ?? 0) / 1e6),
      cluster: info.cluster
        ? { leader: info.cluster.leader, replicas: info.cluster.replicas?.length ?? 0 }
        : null,
    }
  } catch (err) {
    return { error: errorMessage(err) }
  } finally {
    clearTimeout(timer)
  }
}

type StreamInfo = Awaited<ReturnType<typeof streamInfo>>

/** How long one stream-info answer is served to anonymous callers. */
const STREAM_INFO_MAX_AGE_MS = 2_000
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/**
 * The JetStream part of `/health/detailed`, fetched at most once per `STREAM_INFO_MAX_AGE_MS` for
 * anonymous callers and never more than one request at a time, so a flood of anonymous calls
 * costs NATS nothing beyond that. A caller with a bridge token may ask for an answer fetched
 * after its call began (e.g. the last sequence after its own publish); it still waits its turn.
 */
class StreamInfoSnapshot {
  #value: { info: StreamInfo; at: number } | undefined
  #inFlight: Promise<StreamInfo> | undefined
  #queued: Promise<StreamInfo> | undefined

  constructor(private readonly fetch: () => Promise<StreamInfo>) {}

  recent(): Promise<StreamInfo> {
    const value = this.#value
    if (value && Date.now() - value.at < STREAM_INFO_MAX_AGE_MS) return Promise.resolve(value.info)
    return this.#inFlight ?? this.#start()
  }

  fresh(): Promise<StreamInfo> {
    const current = this.#inFlight
    if (!current) return this.#start()
    // The request in flight may have been answered before this call began: queue one behind it.
    this.#queued ??= current.then(() => {
      this.#queued = undefined
      return this.#inFlight ?? this.#start()
    })
    return this.#queued
  }

  #start(): Promise<StreamInfo> {
    const run = this.fetch().then((info) => {
      // Nothing is asked of NATS while it is disconnected, so that answer is not kept.
      this.#value = info === undefined ? undefined : { info, at: Date.now() }
      return info
    })
    this.#inFlight = run
    const settled = () => {
      if (this.#inFlight === run) this.#inFlight = undefined
    }
    run.then(settled, settled)
    return run
  }
}

export const healthRoutes = (deps: BridgeDeps, webhooks: WebhookService) => {
  const { nats, stream, metrics } = deps
  const startedAt = Date.now()
  const streamSnapshot = new StreamInfoSnapshot(() => streamInfo(deps))
  const authenticated = (header: string | undefined): boolean => {
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1]
    return token !== undefined && deps.config.tokens.authenticate(token) !== undefined
  }
  const streamInfoFor = (authorization: string | undefined) =>
    authenticated(authorization) ? streamSnapshot.fresh() : streamSnapshot.recent()
  return new Hono<BridgeEnv>()
    .get('/health', healthDocs.live, (c) => {
      // The client gave up for good (it never does on network trouble): only a restart helps.
      if (nats.state === 'closed' && !deps.isShuttingDown?.()) {
        return c.json(
          errorBody('nats_closed', 'The NATS connection is closed for good', c.get('requestId')),
          503,
        )
      }
      return c.json({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) })
    })
    .get('/ready', healthDocs.ready, (c) => {
      const reason = notReadyReason(deps, webhooks)
      if (reason === undefined) return c.json({ status: 'ready' })
      c.header('Retry-After', '1')
      return c.json(
        errorBody('not_ready', `The bridge is not ready: ${reason}`, c.get('requestId'), {
          reason,
          nats: nats.state,
          stream_ready: stream.ready,
          registry_ready: webhooks.ready,
        }),
        503,
      )
    })
    .get('/health/detailed', healthDocs.detailed, async (c) => {
      const snap = nats.snapshot()
      const reason = notReadyReason(deps, webhooks)
      const streamStatus = stream.status()
      return c.json({
        status: reason === undefined ? 'ready' : 'not_ready',
        reason: reason ?? null,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        nats: {
          state: snap.state,
          server: snap.server ?? null,
          servers: snap.servers,
          reconnects: snap.reconnects,
          disconnects: snap.disconnects,
          attempts: snap.attempts,
          last_error: snap.lastError ?? null,
          since: snap.since.toISOString(),
          in_state_ms: Date.now() - snap.since.getTime(),
          connected_at: snap.connectedAt?.toISOString() ?? null,
          max_payload: snap.maxPayload ?? null,
        },
        stream: {
          name: streamStatus.name,
          ready: streamStatus.ready,
          last_error: streamStatus.lastError ?? null,
          ensured_at: streamStatus.ensuredAt?.toISOString() ?? null,
          info: (await streamInfoFor(c.req.header('authorization'))) ?? null,
        },
        registry: { ready: webhooks.ready, last_error: webhooks.lastError ?? null },
      })
    })
    .get('/metrics', healthDocs.metrics, async (c) => {
      c.header('Content-Type', metrics.registry.contentType)
      return c.body(await metrics.registry.metrics())
    })
}
