import type { EntityType } from '../../shared/domain'

export interface RuleResult {
  rule: string
  passed: boolean
  message: string
}

export interface ValidatedEntity {
  name: string
  type: EntityType
  version: string
  description: string
  config: Record<string, unknown>
}

type Rule = { rule: string; check: (e: ValidatedEntity) => string | null; ok: string }

const isNonEmptyString = (x: unknown): x is string => typeof x === 'string' && x.trim() !== ''
const isPositiveNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0
const isStringList = (x: unknown): x is string[] =>
  Array.isArray(x) && x.length > 0 && x.every(isNonEmptyString)

const configField = (field: string, test: (x: unknown) => boolean, expected: string): Rule => ({
  rule: `config.${field}`,
  check: (e) => (test(e.config[field]) ? null : `config.${field} must be ${expected}`),
  ok: `config.${field} is ${expected}`,
})

const COMMON: Rule[] = [
  {
    rule: 'name_format',
    check: (e) =>
      /^[a-z][a-z0-9_.-]*$/.test(e.name)
        ? null
        : 'name must start with a lowercase letter and use only a-z 0-9 _ . -',
    ok: 'name is lowercase with _ . - separators',
  },
  {
    rule: 'description_present',
    check: (e) => (e.description.trim().length >= 10 ? null : 'description must be at least 10 characters'),
    ok: 'description is present',
  },
  {
    rule: 'stable_version',
    check: (e) =>
      /^\d+\.\d+\.\d+$/.test(e.version) ? null : 'version must be a release (no pre-release or build tag)',
    ok: 'version is a release version',
  },
]

/** Rules checked by `POST /entities/{id}/validate`, on top of the common ones, per entity type. */
export const RULES_BY_TYPE: Record<EntityType, Rule[]> = {
  strategy: [
    configField('symbols', isStringList, 'a non-empty list of symbols'),
    configField('max_position', isPositiveNumber, 'a positive number'),
  ],
  model: [
    configField('framework', isNonEmptyString, 'a non-empty string'),
    configField('input_features', isStringList, 'a non-empty list of feature names'),
  ],
  indicator: [configField('period', (x) => Number.isInteger(x) && (x as number) > 0, 'a positive integer')],
  risk_rule: [
    configField('limit', isPositiveNumber, 'a positive number'),
    configField(
      'action',
      (x) => x === 'block' || x === 'warn' || x === 'reduce',
      "one of 'block', 'warn', 'reduce'",
    ),
  ],
  data_feed: [
    configField('source', isNonEmptyString, 'a non-empty string'),
    configField(
      'interval',
      (x) => typeof x === 'string' && /^\d+(ms|s|m|h|d)$/.test(x),
      'an interval like 1m or 500ms',
    ),
  ],
  execution_algo: [
    configField('venue', isNonEmptyString, 'a non-empty string'),
    configField('max_participation', (x) => typeof x === 'number' && x > 0 && x <= 1, 'a fraction in (0, 1]'),
  ],
}

export const validateEntity = (entity: ValidatedEntity): { valid: boolean; results: RuleResult[] } => {
  const results = [...COMMON, ...RULES_BY_TYPE[entity.type]].map(({ rule, check, ok }) => {
    const failure = check(entity)
    return { rule, passed: failure === null, message: failure ?? ok }
  })
  return { valid: results.every((r) => r.passed), results }
}
