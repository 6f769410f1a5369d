import { Hono } from 'hono'
import * as v from 'valibot'
import { CreateSubscription, SubscriptionName } from '../../shared/bridge-contract'
import { HttpError } from '../../shared/http-error'
import { generateWebhookSecret } from '../../shared/webhook-signing'
import { authorizeSubscribe } from '../auth/require-token'
import type { Principal } from '../auth/tokens'
import { type BridgeDeps, retryAfterSeconds } from '../deps'
import { errorMessage } from '../error-message'
import { jsonBody } from '../http/validate'
import { isStreamPattern } from '../sse/event-source'
import { publicLastError } from '../subscriptions/coarse-error'
import { publicView, type SubscriptionRecord } from '../subscriptions/schema'
import { ConflictError, LimitError, NotConnectedError, type WebhookService } from '../subscriptions/service'
import { checkUrl, SsrfError } from '../subscriptions/ssrf-guard'
import type { BridgeEnv } from '../types'
import { subscriptionDocs } from './subscriptions.doc'

const BODY_LIMIT = 16 * 1024

/** A subscription is managed by the principal that created it, and by admin principals. */
const manages = (principal: Principal, record: SubscriptionRecord): boolean =>
  principal.admin || record.created_by === principal.name

export const subscriptionRoutes = (deps: BridgeDeps, service: WebhookService) => {
  const { config } = deps

  /** Runs a registry call, turning NATS trouble into 503 and races into 409. */
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (err) {
      if (err instanceof HttpError) throw err
      if (err instanceof ConflictError) throw new HttpError(409, 'conflict', err.message)
      if (err instanceof LimitError) throw new HttpError(429, err.code, err.message, { limit: err.limit })
      if (err instanceof NotConnectedError)
        throw new HttpError(503, 'nats_unavailable', err.message, undefined, {
          'Retry-After': retryAfterSeconds(deps),
        })
      deps.logger.warn({ err: errorMessage(err) }, 'subscription registry call failed')
      throw new HttpError(
        503,
        'registry_unavailable',
        'The subscription registry did not answer',
        undefined,
        {
          'Retry-After': retryAfterSeconds(deps),
        },
      )
    }
  }

  /**
   * The subscription, if it exists and the caller manages it (else 404, so that another
   * principal's subscriptions are not even known to exist).
   */
  const visible = async (principal: Principal, rawName: string): Promise<SubscriptionRecord> => {
    const name = v.safeParse(SubscriptionName, rawName)
    const record = name.success ? await call(() => service.get(name.output)) : undefined
    if (!record || !manages(principal, record))
      throw new HttpError(404, 'not_found', `No subscription named ${rawName.slice(0, 64)}`)
    return record
  }

  const withDetails = async (record: SubscriptionRecord) => {
    const { stats, status } = await call(() => service.details(record))
    return { ...publicView(record), stats, last_error: publicLastError(status) }
  }

  return new Hono<BridgeEnv>()
    .post('/', subscriptionDocs.create, jsonBody(CreateSubscription, BODY_LIMIT), async (c) => {
      const input = c.req.valid('json')
      authorizeSubscribe(c.get('principal'), input.subject)
      if (!isStreamPattern(input.subject)) {
        throw new HttpError(
          400,
          'invalid_input',
          'The subject matches no event of the LIBRARY_EVENTS stream',
          [{ path: 'subject', message: 'matches no library event subject' }],
        )
      }
      try {
        checkUrl(config.webhooks.ssrf, input.url)
      } catch (err) {
        if (!(err instanceof SsrfError)) throw err
        throw new HttpError(400, 'url_not_allowed', `The webhook URL is not allowed: ${err.message}`, [
          { path: 'url', message: err.message },
        ])
      }
      const { pacing, maxInFlightCap } = config.webhooks
      const maxInFlight = input.max_in_flight ?? config.webhooks.maxInFlightDefault
      const bounds = [
        maxInFlight > maxInFlightCap && {
          path: 'max_in_flight',
          message: `must not exceed ${maxInFlightCap}`,
        },
        input.max_deliver !== undefined &&
          input.max_deliver > pacing.maxDeliverMax && {
            path: 'max_deliver',
            message: `must not exceed ${pacing.maxDeliverMax}`,
          },
        input.backoff !== undefined &&
          input.backoff.initial_ms < pacing.initialMinMs && {
            path: 'backoff.initial_ms',
            message: `must be at least ${pacing.initialMinMs}`,
          },
      ].filter((issue) => issue !== false)
      if (bounds.length > 0) throw new HttpError(400, 'invalid_input', 'The request is not valid', bounds)
      const now = new Date().toISOString()
      const record: SubscriptionRecord = {
        name: input.name,
        subject: input.subject,
        url: input.url,
        secret: input.secret ?? generateWebhookSecret(),
        max_deliver: input.max_deliver ?? config.webhooks.maxDeliverDefault,
        backoff: {
          initial_ms: input.backoff?.initial_ms ?? config.webhooks.backoff.initialMs,
          max_ms: input.backoff?.max_ms ?? config.webhooks.backoff.maxMs,
          factor: input.backoff?.factor ?? 2,
          jitter: input.backoff?.jitter ?? 0.2,
        },
        max_in_flight: input.ordered ? 1 : maxInFlight,
        ordered: input.ordered ?? false,
        state: 'active',
        state_reason: null,
        created_at: now,
        updated_at: now,
        created_by: c.get('principal').name,
      }
      await call(() => service.create(record))
      c.header('Location', `/v1/subscriptions/${record.name}`)
      // The secret is shown this once.
      return c.json({ ...publicView(record), secret: record.secret }, 201)
    })
    .get('/', subscriptionDocs.list, async (c) => {
      const principal = c.get('principal')
      const records = await call(() => service.list())
      return c.json({ subscriptions: records.filter((r) => manages(principal, r)).map(publicView) })
    })
    .get('/:name', subscriptionDocs.get, async (c) =>
      c.json(await withDetails(await visible(c.get('principal'), c.req.param('name')))),
    )
    .delete('/:name', subscriptionDocs.delete, async (c) => {
      const record = await visible(c.get('principal'), c.req.param('name'))
      await call(() => service.remove(record.name))
      return c.body(null, 204)
    })
    .post('/:name/replay', subscriptionDocs.replay, async (c) => {
      const record = await visible(c.get('principal'), c.req.param('name'))
      const replayed = await call(() => service.replay(record.name))
      return c.json({ name: record.name, replayed }, 202)
    })
    .post('/:name/pause', subscriptionDocs.pause, async (c) => {
      const record = await visible(c.get('principal'), c.req.param('name'))
      const updated = await call(() => service.setState(record.name, 'paused', 'paused through the API'))
      if (!updated) throw new HttpError(404, 'not_found', `No subscription named ${record.name}`)
      return c.json(await withDetails(updated))
    })
    .post('/:name/resume', subscriptionDocs.resume, async (c) => {
      const record = await visible(c.get('principal'), c.req.param('name'))
      const updated = await call(() => service.setState(record.name, 'active', null))
      if (!updated) throw new HttpError(404, 'not_found', `No subscription named ${record.name}`)
      return c.json(await withDetails(updated))
    })
}
