/** A domain rule a request broke, said without HTTP; the app's error handler gives each its status. */
export type DomainFailureCode =
  | 'entity_exists'
  | 'entity_not_found'
  | 'entity_deleted'
  | 'deployment_in_progress'
  | 'same_entity'
  | 'type_mismatch'
  | 'target_not_validated'

export class DomainFailure extends Error {
  constructor(
    readonly code: DomainFailureCode,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'DomainFailure'
  }
}
