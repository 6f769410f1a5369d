import * as v from 'valibot'
import { EntityType, Environment, IsoTimestamp, JsonObject, SemVer, Uuid } from '../../shared/domain'
import { DEPLOYMENT_STATUSES } from '../domain/deployment-state'
import { ENTITY_STATUSES } from '../domain/entity-state'
import { SWAP_STATUSES } from '../domain/swap-state'

/** Response shapes, for the reference; request schemas are imported from the routes that parse them. */
export const EntityView = v.object({
  id: Uuid,
  name: v.string(),
  type: EntityType,
  version: SemVer,
  description: v.string(),
  config: JsonObject,
  metadata: JsonObject,
  status: v.picklist(ENTITY_STATUSES),
  validation: v.object({
    status: v.string(),
    results: v.unknown(),
    validated_at: v.nullable(IsoTimestamp),
  }),
  created_by: v.string(),
  created_at: IsoTimestamp,
  updated_at: IsoTimestamp,
  deleted_at: v.nullable(IsoTimestamp),
})

export const ValidationView = v.object({
  entity_id: Uuid,
  valid: v.boolean(),
  results: v.array(v.object({ rule: v.string(), passed: v.boolean(), message: v.string() })),
  entity: EntityView,
})

export const DeploymentView = v.object({
  id: Uuid,
  entity_id: Uuid,
  environment: Environment,
  version: SemVer,
  status: v.picklist(DEPLOYMENT_STATUSES),
  error: v.nullable(v.string()),
  rollback_reason: v.nullable(v.string()),
  started_by: v.string(),
  started_at: IsoTimestamp,
  finished_at: v.nullable(IsoTimestamp),
  rolled_back_at: v.nullable(IsoTimestamp),
  updated_at: IsoTimestamp,
})

export const SwapView = v.object({
  swap_id: Uuid,
  from_entity_id: Uuid,
  to_entity_id: Uuid,
  reason: v.string(),
  initiated_by: v.string(),
  validate_only: v.boolean(),
  status: v.picklist(SWAP_STATUSES),
  message: v.nullable(v.string()),
  error_code: v.nullable(v.string()),
  validation_results: v.nullable(JsonObject),
  executor_response: v.nullable(JsonObject),
  actor: v.string(),
  created_at: IsoTimestamp,
  updated_at: IsoTimestamp,
  settled_at: v.nullable(IsoTimestamp),
  rolled_back_at: v.nullable(IsoTimestamp),
})

export const page = <S extends v.GenericSchema>(item: S) =>
  v.object({ items: v.array(item), next_cursor: v.nullable(v.string()) })

export const Health = v.object({ status: v.literal('ok') })
export const HealthDetailed = v.looseObject({ status: v.string() })
export const WebhookAccepted = v.looseObject({
  status: v.literal('accepted'),
  source: v.string(),
  webhook_id: v.string(),
  type: v.string(),
  events: v.array(v.object({ event_id: Uuid, event_type: v.string() })),
  /** Health reports: whether the component's state took the report (an older one does not). */
  health: v.optional(
    v.object({ component: v.string(), applied: v.boolean(), message: v.optional(v.string()) }),
  ),
})
