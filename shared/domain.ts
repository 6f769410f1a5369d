import * as v from 'valibot'

export const ENTITY_TYPES = [
  'strategy',
  'model',
  'indicator',
  'risk_rule',
  'data_feed',
  'execution_algo',
] as const
export const EntityType = v.picklist(ENTITY_TYPES)
export type EntityType = v.InferOutput<typeof EntityType>

export const ENVIRONMENTS = ['dev', 'staging', 'paper', 'live'] as const
export const Environment = v.picklist(ENVIRONMENTS)
export type Environment = v.InferOutput<typeof Environment>

export const Uuid = v.pipe(v.string(), v.uuid('must be a UUID'))

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/
export const SemVer = v.pipe(
  v.string(),
  v.maxLength(64),
  v.regex(SEMVER, 'must be a semantic version like 1.2.3'),
)

/** ISO-8601 date-time; an offset is optional so naive UTC timestamps from Python's `datetime.utcnow()` pass. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/
export const IsoTimestamp = v.pipe(
  v.string(),
  v.regex(ISO_DATE_TIME, 'must be an ISO-8601 date-time'),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'must be a valid date-time'),
)

export const Name = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200))
const isPlainObject = (input: unknown): boolean =>
  typeof input === 'object' && input !== null && !Array.isArray(input)

/** valibot's object and record schemas accept arrays (turning `[x]` into `{"0": x}`); JSON objects only. */
export const plainObject = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.custom<v.InferInput<S>>(isPlainObject, 'must be an object'), schema)

export const JsonObject = plainObject(v.record(v.string(), v.unknown()))
