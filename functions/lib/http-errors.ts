import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { HttpError } from '../../shared/http-error'
import { isDatabaseUnavailable } from '../db/unavailable'
import { DomainFailure, type DomainFailureCode } from '../domain/failure'

const DOMAIN_STATUS: Record<DomainFailureCode, ContentfulStatusCode> = {
  entity_exists: 409,
  entity_not_found: 404,
  entity_deleted: 409,
  deployment_in_progress: 409,
  same_entity: 422,
  type_mismatch: 422,
  target_not_validated: 409,
}

/**
 * What a thrown value answers with: an HttpError as it is, a domain failure with its status, an
 * unreachable database as 503 `database_unavailable`; anything else stays an Error (a 500).
 */
export const toHttpError = (thrown: unknown): HttpError | Error => {
  if (thrown instanceof HttpError) return thrown
  if (thrown instanceof DomainFailure)
    return new HttpError(DOMAIN_STATUS[thrown.code], thrown.code, thrown.message, thrown.details)
  if (isDatabaseUnavailable(thrown))
    return new HttpError(
      503,
      'database_unavailable',
      'The database is unavailable; nothing was written, retry later',
      undefined,
      { 'Retry-After': '5' },
    )
  return thrown instanceof Error ? thrown : new Error(String(thrown))
}
