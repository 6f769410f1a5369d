import type { PoolClient } from '@neondatabase/serverless'
import * as v from 'valibot'
import { IsoTimestamp, JsonObject, Uuid } from '../../shared/domain'
import { createEvent, type LibraryEvent } from '../../shared/events'
import { invalidInput } from '../../shared/http-error'
import { reportComponentHealth } from '../db/component-health'
import { insertEvents } from '../db/outbox'
import type { DeploymentAction } from '../domain/deployment-state'
import type { ActionContext } from '../services/context'
import { transitionDeploymentIn } from '../services/deployments'
import type { WebhookType } from './types'

/** The Standard Webhooks payload shape every source sends. */
export const WebhookPayload = v.object({
  type: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  timestamp: IsoTimestamp,
  data: JsonObject,
})
export type WebhookPayload = v.InferOutput<typeof WebhookPayload>

export interface WebhookContext {
  /** The transaction that also records the webhook-id: events and state changes commit with it. */
  tx: PoolClient
  source: string
  webhookId: string
  /** The payload's `timestamp`: when the sender says it happened. */
  occurredAt: string
  /** Actor `webhook:<source>` and the request id, as for API calls. */
  action: ActionContext
  /** Carried into the events this module creates itself. */
  metadata: Record<string, unknown>
}

/** A health report's effect on the state `/health/detailed` shows. */
export interface HealthOutcome {
  component: string
  /** False when the report was older than the stored observation and changed nothing. */
  applied: boolean
  message?: string
}

export interface WebhookOutcome {
  events: LibraryEvent[]
  health?: HealthOutcome
}

type Handler<S extends v.GenericSchema> = (
  ctx: WebhookContext,
  data: v.InferOutput<S>,
) => Promise<WebhookOutcome>

export interface PreparedWebhook {
  run: (ctx: WebhookContext) => Promise<WebhookOutcome>
}

/** Validates `data` up front (400 with per-field issues) and returns the work to do in the transaction. */
export type Mapping = (data: unknown) => PreparedWebhook

const mapping =
  <S extends v.GenericSchema>(schema: S, handle: Handler<S>): Mapping =>
  (data) => {
    const parsed = v.safeParse(schema, data)
    if (!parsed.success) throw invalidInput(parsed.issues, 'data')
    return { run: (ctx) => handle(ctx, parsed.output) }
  }

const emit = async (ctx: WebhookContext, event: LibraryEvent): Promise<LibraryEvent[]> => {
  await insertEvents(ctx.tx, [event])
  return [event]
}

const staleReport = (component: string, occurredAt: string) =>
  `The report's timestamp ${occurredAt} is older than the observation stored for '${component}': ` +
  'the component keeps that state in /health/detailed'

const Text = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max))

const HealthData = (defaultStatus: string) =>
  v.object({
    component: Text(200),
    status: v.optional(Text(64), defaultStatus),
    details: v.optional(JsonObject),
  })

const health = (eventType: 'health.degraded' | 'health.recovered') => {
  const degraded = eventType === 'health.degraded'
  return mapping(HealthData(degraded ? 'degraded' : 'healthy'), async (ctx, data) => {
    const applied = await reportComponentHealth(ctx.tx, {
      ...data,
      degraded,
      source: ctx.source,
      observedAt: ctx.occurredAt,
    })
    const events = await emit(ctx, createEvent({ event_type: eventType, data, metadata: ctx.metadata }))
    const health: HealthOutcome = applied
      ? { component: data.component, applied }
      : { component: data.component, applied, message: staleReport(data.component, ctx.occurredAt) }
    return { events, health }
  })
}

/** Ids as the database stores them, so events about one entity share their outbox entity_key. */
const LowerUuid = v.pipe(Uuid, v.toLowerCase())

/** Deployment outcomes go through the same state machine as the REST routes (409 on an illegal move). */
const deployment = <
  S extends v.GenericSchema<unknown, { deployment_id: string; error?: string; reason?: string }>,
>(
  action: DeploymentAction,
  schema: S,
) =>
  mapping(schema, async (ctx, data) => {
    const { events } = await transitionDeploymentIn(ctx.tx, data.deployment_id, action, data, ctx.action)
    return { events }
  })

/** One entry per inbound type: its `data` schema and what it does. */
export const MAPPINGS: Record<WebhookType, Mapping> = {
  'deployment.succeeded': deployment('complete', v.object({ deployment_id: LowerUuid })),
  'deployment.failed': deployment('fail', v.object({ deployment_id: LowerUuid, error: Text(2000) })),
  'deployment.rolled_back': deployment(
    'rollback',
    v.object({ deployment_id: LowerUuid, reason: Text(2000) }),
  ),
  'health.degraded': health('health.degraded'),
  'health.recovered': health('health.recovered'),
  'performance.threshold_exceeded': mapping(
    v.object({
      entity_id: LowerUuid,
      metric: Text(200),
      value: v.pipe(v.number(), v.finite()),
      threshold: v.pipe(v.number(), v.finite()),
      window: Text(64),
    }),
    async (ctx, { entity_id, ...data }) => ({
      events: await emit(
        ctx,
        createEvent({
          event_type: 'performance.threshold_exceeded',
          entity_id,
          data,
          metadata: ctx.metadata,
        }),
      ),
    }),
  ),
}
