export const EVENT_TYPES = [
  'entity.registered',
  'entity.updated',
  'entity.deleted',
  'entity.validated',
  'deployment.started',
  'deployment.completed',
  'deployment.failed',
  'deployment.rolled_back',
  'swap.initiated',
  'swap.validated',
  'swap.completed',
  'swap.failed',
  'swap.rolled_back',
  'health.degraded',
  'health.recovered',
  'performance.threshold_exceeded',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

const eventTypeSet: ReadonlySet<string> = new Set(EVENT_TYPES)

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && eventTypeSet.has(value)

export const EVENT_SOURCE = 'library_service'
