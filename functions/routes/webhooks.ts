import { Hono } from 'hono'
import * as v from 'valibot'
import { parseJsonText, readBodyText, requireJsonContentType } from '../../shared/http/read-body'
import { HttpError, invalidInput } from '../../shared/http-error'
import { bodyReadByRoute } from '../../shared/openapi/describe-route'
import { withTransaction } from '../db/pool'
import { claimReceipt, recordResponse } from '../db/webhook-receipts'
import type { HonoEnv } from '../env'
import { refuseTooDeep } from '../lib/validate'
import { requireConfig } from '../middleware/config'
import { database } from '../middleware/database'
import { actionContext, eventMetadata } from '../services/context'
import { MAPPINGS, WebhookPayload } from '../webhooks/mappings'
import { isAllowed } from '../webhooks/sources'
import { isWebhookType, WEBHOOK_TYPES } from '../webhooks/types'
import { verifyDelivery } from '../webhooks/verify'
import { webhookDoc } from './webhooks.doc'

const parsePayload = (text: string, maxDepth: number): WebhookPayload => {
  const json = parseJsonText(text)
  refuseTooDeep(json, maxDepth)
  const result = v.safeParse(WebhookPayload, json)
  if (!result.success) throw invalidInput(result.issues)
  return result.output
}

/**
 * Inbound webhooks. Checks run cheapest and least revealing first: source, media type, size,
 * signature; only a verified body is parsed. The webhook-id is claimed in the transaction that
 * writes the events, so a repeat (even a concurrent one) gets the first response and no new event.
 */
export const webhookRoutes = new Hono<HonoEnv>()
  .use(requireConfig(), database())
  .post('/:source', webhookDoc, bodyReadByRoute(WebhookPayload), async (c) => {
    const name = c.req.param('source')
    const sources = c.var.config.WEBHOOK_SOURCES
    const source = Object.hasOwn(sources, name) ? sources[name] : undefined
    if (!source) throw new HttpError(404, 'unknown_source', `No webhook source named '${name}'`)

    requireJsonContentType(c.req.header('content-type'))
    const body = await readBodyText(c.req.raw, source.max_body_bytes)
    const delivery = await verifyDelivery(source, c.req.raw.headers, body)
    const payload = parsePayload(body, c.var.config.MAX_JSON_DEPTH)

    if (!isWebhookType(payload.type)) {
      throw new HttpError(400, 'unknown_webhook_type', `Webhook type '${payload.type}' is not supported`, {
        supported: WEBHOOK_TYPES,
      })
    }
    if (!isAllowed(source, payload.type)) {
      throw new HttpError(403, 'type_not_allowed', `Source '${name}' may not send '${payload.type}'`, {
        source: name,
        type: payload.type,
      })
    }
    const prepared = MAPPINGS[payload.type](payload.data)

    const action = actionContext(c, `webhook:${name}`)
    const key = { source: name, webhookId: delivery.id }
    const outcome = await withTransaction(c.var.db, async (tx) => {
      const claim = await claimReceipt(tx, { ...key, type: payload.type })
      if (!claim.claimed) return { replayed: true, body: claim.body }
      const { events, health } = await prepared.run({
        tx,
        source: name,
        webhookId: delivery.id,
        occurredAt: payload.timestamp,
        action,
        metadata: { ...eventMetadata(action), webhook_id: delivery.id },
      })
      const response = {
        status: 'accepted',
        source: name,
        webhook_id: delivery.id,
        type: payload.type,
        events: events.map((e) => ({ event_id: e.event_id, event_type: e.event_type })),
        ...(health ? { health } : {}),
      }
      await recordResponse(tx, { ...key, status: 200, body: response })
      return { replayed: false, body: response }
    })

    return c.json(outcome.body, 200, { 'webhook-replayed': String(outcome.replayed) })
  })
