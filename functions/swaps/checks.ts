import type { SwapRequest } from '../../shared/swap'
import { type EntityRow, getEntities } from '../db/entities'
import type { Queryable } from '../db/sql'
import { DomainFailure } from '../domain/failure'

export interface SwapCheck {
  rule: string
  passed: boolean
  message: string
}

export interface SwapEvaluation {
  valid: boolean
  checks: SwapCheck[]
  /** The first failed check, the error `POST /swaps` answers with. */
  failure?: DomainFailure
}

const check = (rule: string, passed: boolean, message: string): SwapCheck => ({ rule, passed, message })

const presence = (role: 'from' | 'to', id: string, entity: EntityRow | null): SwapCheck[] => [
  check(`${role}_exists`, entity !== null, entity ? `${role} entity exists` : `no entity with id ${id}`),
  check(
    `${role}_not_deleted`,
    entity !== null && entity.status !== 'deleted',
    entity?.status === 'deleted' ? `${role} entity ${id} is deleted` : `${role} entity is not deleted`,
  ),
]

type SwapParties = Pick<SwapRequest, 'from_entity_id' | 'to_entity_id'>

export const swapEntityIds = (request: SwapParties) => [
  ...new Set([request.from_entity_id.toLowerCase(), request.to_entity_id.toLowerCase()]),
]

/** Reads both entities in one query and judges the swap. */
export const evaluateSwap = async (db: Queryable, request: SwapParties): Promise<SwapEvaluation> =>
  judgeSwap(request, await getEntities(db, swapEntityIds(request)))

/**
 * Every rule a swap must pass, without side effects: both entities exist and are not deleted,
 * they differ, share a type, and the target passed validation. Shared by `POST /swaps` and the
 * `library.swap.validate` endpoint; `entities` are those of the request's ids that exist.
 */
export const judgeSwap = (request: SwapParties, entities: readonly EntityRow[]): SwapEvaluation => {
  const fromId = request.from_entity_id.toLowerCase()
  const toId = request.to_entity_id.toLowerCase()
  const distinct = fromId !== toId
  const byId = (id: string) => entities.find((e) => e.id === id) ?? null
  const from = byId(fromId)
  const to = distinct ? byId(toId) : null
  const target = distinct ? to : from
  const checks: SwapCheck[] = [
    check('distinct', distinct, distinct ? 'the entities differ' : 'an entity cannot be swapped for itself'),
    ...presence('from', fromId, from),
    ...presence('to', toId, target),
  ]
  const failure = (error: DomainFailure): SwapEvaluation => ({ valid: false, checks, failure: error })
  if (!distinct)
    return failure(
      new DomainFailure('same_entity', 'An entity cannot be swapped for itself', { entity_id: fromId }),
    )
  if (!from)
    return failure(
      new DomainFailure('entity_not_found', `No entity with id ${fromId}`, { entity_id: fromId }),
    )
  if (!target)
    return failure(new DomainFailure('entity_not_found', `No entity with id ${toId}`, { entity_id: toId }))
  for (const entity of [from, target]) {
    if (entity.status === 'deleted')
      return failure(
        new DomainFailure('entity_deleted', `Entity ${entity.id} is deleted`, {
          entity_id: entity.id,
          status: 'deleted',
        }),
      )
  }
  const sameType = from.type === target.type
  checks.push(
    check(
      'same_type',
      sameType,
      sameType ? `both are ${from.type}` : `cannot swap a ${from.type} for a ${target.type}`,
    ),
  )
  if (!sameType)
    return failure(
      new DomainFailure('type_mismatch', `Cannot swap a ${from.type} for a ${target.type}`, {
        from_type: from.type,
        to_type: target.type,
      }),
    )
  const validated = target.validation_status === 'passed'
  checks.push(
    check(
      'target_validated',
      validated,
      validated ? 'the target passed validation' : `the target's validation is ${target.validation_status}`,
    ),
  )
  if (!validated)
    return failure(
      new DomainFailure('target_not_validated', `Entity ${target.id} has not passed validation`, {
        entity_id: target.id,
        validation_status: target.validation_status,
      }),
    )
  return { valid: true, checks }
}

export const validationResults = (evaluation: SwapEvaluation) => ({
  checks: evaluation.checks,
  ...(evaluation.failure ? { error_code: evaluation.failure.code } : {}),
})
