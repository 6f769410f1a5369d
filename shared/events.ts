import * as v from 'valibot'
import { EntityType, Environment, IsoTimestamp, JsonObject, Name, plainObject, SemVer, Uuid } from './domain'
import { EVENT_SOURCE, type EventType } from './event-types'

const NullableUuid = v.optional(v.nullable(Uuid), null)

const envelope = {
  event_id: Uuid,
  timestamp: IsoTimestamp,
  source: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  metadata: v.optional(JsonObject, {}),
}

/** The three ids every event carries, null unless the event is about one; each schema overrides the ones it requires. */
const ids = { entity_id: NullableUuid, deployment_id: NullableUuid, swap_id: NullableUuid }

const event = <T extends EventType, E extends v.ObjectEntries, D extends v.ObjectEntries>(
  type: T,
  extra: E,
  data: D,
) =>
  v.strictObject({
    ...envelope,
    event_type: v.literal(type),
    ...extra,
    data: v.optional(
      plainObject(v.looseObject(data)),
      () => ({}) as v.InferInput<v.LooseObjectSchema<D, undefined>>,
    ),
  })

const RuleResult = v.object({ rule: v.string(), passed: v.boolean(), message: v.string() })
const FieldChange = v.object({ from: v.unknown(), to: v.unknown() })
const SwapParties = { from_entity_id: v.optional(Uuid), to_entity_id: v.optional(Uuid) }

export const EntityRegistered = event(
  'entity.registered',
  { ...ids, entity_id: Uuid, entity_name: Name, entity_type: EntityType, version: SemVer },
  { description: v.optional(v.string()), status: v.optional(v.string()), config: v.optional(JsonObject) },
)
export const EntityUpdated = event(
  'entity.updated',
  { ...ids, entity_id: Uuid },
  { changes: v.record(v.string(), FieldChange), version: v.optional(SemVer) },
)
export const EntityDeleted = event(
  'entity.deleted',
  { ...ids, entity_id: Uuid },
  { entity_name: v.optional(Name), version: v.optional(SemVer), reason: v.optional(v.string()) },
)
export const EntityValidated = event(
  'entity.validated',
  { ...ids, entity_id: Uuid },
  { valid: v.boolean(), results: v.array(RuleResult) },
)

const deploymentIds = { ...ids, entity_id: Uuid, deployment_id: Uuid }
export const DeploymentStarted = event('deployment.started', deploymentIds, {
  environment: Environment,
  version: SemVer,
})
export const DeploymentCompleted = event(
  'deployment.completed',
  { ...deploymentIds, environment: Environment, version: SemVer },
  { duration_ms: v.optional(v.pipe(v.number(), v.minValue(0))) },
)
export const DeploymentFailed = event('deployment.failed', deploymentIds, {
  environment: Environment,
  version: SemVer,
  error: v.string(),
})
export const DeploymentRolledBack = event('deployment.rolled_back', deploymentIds, {
  environment: Environment,
  version: SemVer,
  reason: v.string(),
})

const swapIds = { ...ids, swap_id: Uuid }
export const SwapInitiated = event('swap.initiated', swapIds, {
  from_entity_id: Uuid,
  to_entity_id: Uuid,
  reason: v.string(),
  initiated_by: v.string(),
  validate_only: v.boolean(),
})
export const SwapValidated = event('swap.validated', swapIds, {
  ...SwapParties,
  valid: v.boolean(),
  message: v.string(),
  validation_results: v.optional(v.nullable(JsonObject), null),
})
export const SwapCompleted = event('swap.completed', swapIds, {
  ...SwapParties,
  status: v.optional(v.string()),
  message: v.optional(v.string()),
})
export const SwapFailed = event('swap.failed', swapIds, {
  ...SwapParties,
  status: v.optional(v.string()),
  message: v.string(),
  error_code: v.optional(v.string()),
})
export const SwapRolledBack = event('swap.rolled_back', swapIds, {
  ...SwapParties,
  reason: v.string(),
  message: v.optional(v.string()),
})

const healthData = {
  component: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  status: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  details: v.optional(JsonObject),
}
export const HealthDegraded = event('health.degraded', ids, healthData)
export const HealthRecovered = event('health.recovered', ids, healthData)

export const PerformanceThresholdExceeded = event(
  'performance.threshold_exceeded',
  { ...ids, entity_id: Uuid },
  {
    metric: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
    value: v.pipe(v.number(), v.finite()),
    threshold: v.pipe(v.number(), v.finite()),
    window: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  },
)

export const EVENT_SCHEMAS = {
  'entity.registered': EntityRegistered,
  'entity.updated': EntityUpdated,
  'entity.deleted': EntityDeleted,
  'entity.validated': EntityValidated,
  'deployment.started': DeploymentStarted,
  'deployment.completed': DeploymentCompleted,
  'deployment.failed': DeploymentFailed,
  'deployment.rolled_back': DeploymentRolledBack,
  'swap.initiated': SwapInitiated,
  'swap.validated': SwapValidated,
  'swap.completed': SwapCompleted,
  'swap.failed': SwapFailed,
  'swap.rolled_back': SwapRolledBack,
  'health.degraded': HealthDegraded,
  'health.recovered': HealthRecovered,
  'performance.threshold_exceeded': PerformanceThresholdExceeded,
} as const satisfies Record<EventType, v.GenericSchema>

export const LibraryEvent = v.variant('event_type', Object.values(EVENT_SCHEMAS))
export type LibraryEvent = v.InferOutput<typeof LibraryEvent>
export type LibraryEventInput = v.InferInput<typeof LibraryEvent>
export type EventOf<T extends EventType> = Extract<LibraryEvent, { event_type: T }>

type Generated = 'event_id' | 'timestamp' | 'source'
/** What a producer supplies: the envelope fields the factory fills may be given but need not be. */
export type NewEvent = LibraryEventInput extends infer E
  ? E extends LibraryEventInput
    ? Omit<E, Generated> & Partial<Pick<E, Generated>>
    : never
  : never

export const createEvent = (input: NewEvent): LibraryEvent =>
  v.parse(LibraryEvent, {
    event_id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    source: EVENT_SOURCE,
    ...input,
  })
