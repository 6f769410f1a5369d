export const ENTITY_STATUSES = ['active', 'deprecated', 'deleted'] as const
export type EntityStatus = (typeof ENTITY_STATUSES)[number]

/** What a PATCH may set; `deleted` is reached only through DELETE. */
export const SETTABLE_ENTITY_STATUSES = ['active', 'deprecated'] as const
