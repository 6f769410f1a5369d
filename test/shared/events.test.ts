import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { EVENT_SOURCE, EVENT_TYPES, type EventType, isEventType } from '../../shared/event-types'
import { createEvent, EVENT_SCHEMAS, LibraryEvent, type NewEvent } from '../../shared/events'

const ENTITY = '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b'
const OTHER_ENTITY = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b'
const DEPLOYMENT = 'c9bf9e57-1685-4c89-bafb-ff5af830be8a'
const SWAP = 'a3bb189e-8bf9-3888-9912-ace4e6543002'

const envelope = (type: EventType) => ({
  event_id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  event_type: type,
  timestamp: '2024-05-01T12:00:00.000Z',
  source: EVENT_SOURCE,
  metadata: { request_id: 'req-1' },
})

type Doc = Record<string, unknown>

const VALID: Record<EventType, Doc> = {
  'entity.registered': {
    ...envelope('entity.registered'),
    entity_id: ENTITY,
    entity_name: 'mean_reversion',
    entity_type: 'strategy',
    version: '1.0.0',
    data: { description: 'Mean reversion on 5m bars', config: { window: 20 } },
  },
  'entity.updated': {
    ...envelope('entity.updated'),
    entity_id: ENTITY,
    data: { changes: { status: { from: 'draft', to: 'active' } }, version: '1.0.1' },
  },
  'entity.deleted': { ...envelope('entity.deleted'), entity_id: ENTITY, data: { reason: 'retired' } },
  'entity.validated': {
    ...envelope('entity.validated'),
    entity_id: ENTITY,
    data: { valid: true, results: [{ rule: 'has_version', passed: true, message: 'ok' }] },
  },
  'deployment.started': {
    ...envelope('deployment.started'),
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'staging', version: '1.0.0' },
  },
  'deployment.completed': {
    ...envelope('deployment.completed'),
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    environment: 'live',
    version: '1.0.0',
    data: { duration_ms: 1234 },
  },
  'deployment.failed': {
    ...envelope('deployment.failed'),
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'paper', version: '1.0.0', error: 'health check failed' },
  },
  'deployment.rolled_back': {
    ...envelope('deployment.rolled_back'),
    entity_id: ENTITY,
    deployment_id: DEPLOYMENT,
    data: { environment: 'live', version: '1.0.0', reason: 'drawdown' },
  },
  'swap.initiated': {
    ...envelope('swap.initiated'),
    swap_id: SWAP,
    data: {
      from_entity_id: ENTITY,
      to_entity_id: OTHER_ENTITY,
      reason: 'better sharpe',
      initiated_by: 'alice',
      validate_only: false,
    },
  },
  'swap.validated': {
    ...envelope('swap.validated'),
    swap_id: SWAP,
    data: { valid: true, message: 'Swap validation passed', validation_results: { compatible: true } },
  },
  'swap.completed': { ...envelope('swap.completed'), swap_id: SWAP, data: { status: 'completed' } },
  'swap.failed': { ...envelope('swap.failed'), swap_id: SWAP, data: { message: 'executor refused' } },
  'swap.rolled_back': {
    ...envelope('swap.rolled_back'),
    swap_id: SWAP,
    data: { reason: 'operator request' },
  },
  'health.degraded': {
    ...envelope('health.degraded'),
    data: { component: 'nats', status: 'reconnecting', details: { attempts: 3 } },
  },
  'health.recovered': { ...envelope('health.recovered'), data: { component: 'nats', status: 'connected' } },
  'performance.threshold_exceeded': {
    ...envelope('performance.threshold_exceeded'),
    entity_id: ENTITY,
    data: { metric: 'latency_p99_ms', value: 250.5, threshold: 200, window: '5m' },
  },
}

const withData = (type: EventType, data: Doc): Doc => ({
  ...VALID[type],
  data: { ...(VALID[type].data as Doc), ...data },
})
const without = (doc: Doc, key: string): Doc =>
  Object.fromEntries(Object.entries(doc).filter(([k]) => k !== key))
const withoutData = (type: EventType, key: string): Doc => ({
  ...VALID[type],
  data: without(VALID[type].data as Doc, key),
})

/** [what is wrong, document, dot path of the expected issue] */
type Invalid = [string, Doc, string]

const INVALID: Record<EventType, Invalid[]> = {
  'entity.registered': [
    ['no entity_name', without(VALID['entity.registered'], 'entity_name'), 'entity_name'],
    ['unknown entity_type', { ...VALID['entity.registered'], entity_type: 'spaceship' }, 'entity_type'],
    ['version not semver', { ...VALID['entity.registered'], version: 'v1' }, 'version'],
    ['blank entity_name', { ...VALID['entity.registered'], entity_name: '   ' }, 'entity_name'],
  ],
  'entity.updated': [
    ['no changes', withoutData('entity.updated', 'changes'), 'data.changes'],
    ['changes not an object', withData('entity.updated', { changes: 'everything' }), 'data.changes'],
    ['no entity_id', without(VALID['entity.updated'], 'entity_id'), 'entity_id'],
  ],
  'entity.deleted': [
    ['null entity_id', { ...VALID['entity.deleted'], entity_id: null }, 'entity_id'],
    ['reason not a string', withData('entity.deleted', { reason: 42 }), 'data.reason'],
  ],
  'entity.validated': [
    ['no valid flag', withoutData('entity.validated', 'valid'), 'data.valid'],
    [
      'result without passed',
      withData('entity.validated', { results: [{ rule: 'r', message: 'm' }] }),
      'data.results.0.passed',
    ],
    ['results not an array', withData('entity.validated', { results: {} }), 'data.results'],
  ],
  'deployment.started': [
    ['no deployment_id', without(VALID['deployment.started'], 'deployment_id'), 'deployment_id'],
    ['unknown environment', withData('deployment.started', { environment: 'prod' }), 'data.environment'],
    ['no version', withoutData('deployment.started', 'version'), 'data.version'],
  ],
  'deployment.completed': [
    ['no environment', without(VALID['deployment.completed'], 'environment'), 'environment'],
    ['negative duration', withData('deployment.completed', { duration_ms: -1 }), 'data.duration_ms'],
    [
      'deployment_id not a UUID',
      { ...VALID['deployment.completed'], deployment_id: 'dep-1' },
      'deployment_id',
    ],
  ],
  'deployment.failed': [
    ['no error', withoutData('deployment.failed', 'error'), 'data.error'],
    ['no entity_id', without(VALID['deployment.failed'], 'entity_id'), 'entity_id'],
  ],
  'deployment.rolled_back': [
    ['no reason', withoutData('deployment.rolled_back', 'reason'), 'data.reason'],
    ['environment not a string', withData('deployment.rolled_back', { environment: 1 }), 'data.environment'],
  ],
  'swap.initiated': [
    ['no swap_id', without(VALID['swap.initiated'], 'swap_id'), 'swap_id'],
    ['to_entity_id not a UUID', withData('swap.initiated', { to_entity_id: 'x' }), 'data.to_entity_id'],
    [
      'validate_only as a string',
      withData('swap.initiated', { validate_only: 'false' }),
      'data.validate_only',
    ],
  ],
  'swap.validated': [
    ['no message', withoutData('swap.validated', 'message'), 'data.message'],
    [
      'validation_results an array',
      withData('swap.validated', { validation_results: [] }),
      'data.validation_results',
    ],
  ],
  'swap.completed': [
    ['swap_id not a UUID', { ...VALID['swap.completed'], swap_id: 'swap-1' }, 'swap_id'],
    ['from_entity_id not a UUID', withData('swap.completed', { from_entity_id: 7 }), 'data.from_entity_id'],
  ],
  'swap.failed': [
    ['no message', withoutData('swap.failed', 'message'), 'data.message'],
    ['error_code not a string', withData('swap.failed', { error_code: 500 }), 'data.error_code'],
  ],
  'swap.rolled_back': [
    ['no reason', withoutData('swap.rolled_back', 'reason'), 'data.reason'],
    ['null swap_id', { ...VALID['swap.rolled_back'], swap_id: null }, 'swap_id'],
  ],
  'health.degraded': [
    ['no component', withoutData('health.degraded', 'component'), 'data.component'],
    ['empty status', withData('health.degraded', { status: '' }), 'data.status'],
  ],
  'health.recovered': [
    ['no status', withoutData('health.recovered', 'status'), 'data.status'],
    ['details not an object', withData('health.recovered', { details: 'fine' }), 'data.details'],
  ],
  'performance.threshold_exceeded': [
    ['value not a number', withData('performance.threshold_exceeded', { value: '250' }), 'data.value'],
    [
      'infinite threshold',
      withData('performance.threshold_exceeded', { threshold: Infinity }),
      'data.threshold',
    ],
    ['no metric', withoutData('performance.threshold_exceeded', 'metric'), 'data.metric'],
  ],
}

/** Envelope faults that every event type must reject. */
const ENVELOPE_FAULTS: [string, (doc: Doc) => Doc, string][] = [
  ['event_id not a UUID', (doc) => ({ ...doc, event_id: 'evt-1' }), 'event_id'],
  ['no event_id', (doc) => without(doc, 'event_id'), 'event_id'],
  ['timestamp not ISO-8601', (doc) => ({ ...doc, timestamp: '01/05/2024 12:00' }), 'timestamp'],
  ['timestamp an impossible date', (doc) => ({ ...doc, timestamp: '2024-13-45T12:00:00Z' }), 'timestamp'],
  ['timestamp a number', (doc) => ({ ...doc, timestamp: 1714564800 }), 'timestamp'],
  ['empty source', (doc) => ({ ...doc, source: '' }), 'source'],
  ['metadata an array', (doc) => ({ ...doc, metadata: [] }), 'metadata'],
  ['data an array', (doc) => ({ ...doc, data: [] }), 'data'],
  ['unknown top-level field', (doc) => ({ ...doc, surprise: true }), 'surprise'],
]

const issuePaths = (result: v.SafeParseResult<v.GenericSchema>): (string | null)[] =>
  result.success ? [] : result.issues.map((issue) => v.getDotPath(issue))

describe('event schemas', () => {
  it('has one schema per event type', () => {
    expect(Object.keys(EVENT_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort())
  })

  describe.each(EVENT_TYPES)('%s', (type) => {
    it('accepts a valid document, through its own schema and the union', () => {
      const own = v.safeParse(EVENT_SCHEMAS[type], VALID[type])
      expect(own.issues).toBeUndefined()
      const union = v.safeParse(LibraryEvent, VALID[type])
      expect(union.issues).toBeUndefined()
      expect(union.output).toEqual(own.output)
      expect(v.parse(LibraryEvent, VALID[type]).event_type).toBe(type)
    })

    it('round-trips through JSON unchanged', () => {
      const parsed = v.parse(LibraryEvent, VALID[type])
      expect(v.parse(LibraryEvent, JSON.parse(JSON.stringify(parsed)))).toEqual(parsed)
    })

    it('fills null ids and empty metadata when they are left out', () => {
      const doc = without(VALID[type], 'metadata')
      const parsed = v.parse(LibraryEvent, doc) as Doc
      expect(parsed.metadata).toEqual({})
      for (const id of ['entity_id', 'deployment_id', 'swap_id'])
        expect(parsed[id] === null || typeof parsed[id] === 'string').toBe(true)
    })

    it.each(INVALID[type])('rejects %s', (_, doc, path) => {
      expect(issuePaths(v.safeParse(EVENT_SCHEMAS[type], doc))).toContain(path)
      expect(issuePaths(v.safeParse(LibraryEvent, doc))).toContain(path)
    })

    it.each(ENVELOPE_FAULTS)('rejects %s', (_, fault, path) => {
      const result = v.safeParse(LibraryEvent, fault(VALID[type]))
      expect(result.success).toBe(false)
      expect(issuePaths(result)).toContain(path)
    })

    it('rejects the document under another event_type whose schema it does not fit', () => {
      const other = type === 'entity.registered' ? 'deployment.completed' : 'entity.registered'
      expect(v.safeParse(LibraryEvent, { ...VALID[type], event_type: other }).success).toBe(false)
    })
  })

  it('has at least two type-specific invalid documents for every event type', () => {
    for (const type of EVENT_TYPES) expect(INVALID[type].length).toBeGreaterThanOrEqual(2)
  })

  it.each(['entity.exploded', 'library.entity.registered', 'ENTITY.REGISTERED', '', null, 7])(
    'rejects the unknown event_type %j',
    (eventType) => {
      expect(isEventType(eventType)).toBe(false)
      const result = v.safeParse(LibraryEvent, { ...VALID['entity.registered'], event_type: eventType })
      expect(result.success).toBe(false)
      expect(issuePaths(result)).toContain('event_type')
    },
  )

  it('rejects documents that are not objects', () => {
    for (const doc of [null, 'event', 42, [], undefined])
      expect(v.safeParse(LibraryEvent, doc).success).toBe(false)
  })

  it('keeps payload fields it does not know (forward compatible data)', () => {
    const doc = withData('health.degraded', { region: 'eu-west' })
    expect((v.parse(LibraryEvent, doc).data as Doc).region).toBe('eu-west')
  })
})

describe('original spec fields', () => {
  it.each(['entity_id', 'entity_name', 'entity_type', 'version'])(
    'entity.registered requires top-level %s',
    (field) => {
      expect(issuePaths(v.safeParse(LibraryEvent, without(VALID['entity.registered'], field)))).toContain(
        field,
      )
      expect(
        issuePaths(v.safeParse(LibraryEvent, { ...VALID['entity.registered'], [field]: null })),
      ).toContain(field)
    },
  )

  it.each(['entity_id', 'deployment_id', 'environment', 'version'])(
    'deployment.completed requires top-level %s',
    (field) => {
      expect(issuePaths(v.safeParse(LibraryEvent, without(VALID['deployment.completed'], field)))).toContain(
        field,
      )
      expect(
        issuePaths(v.safeParse(LibraryEvent, { ...VALID['deployment.completed'], [field]: null })),
      ).toContain(field)
    },
  )

  // What pydantic's model_dump(mode='json') produces for the original spec's models.
  const pythonEnvelope = (type: EventType) => ({
    event_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
    event_type: type,
    timestamp: '2024-05-01T12:00:00.123456',
    source: 'library_service',
    entity_id: ENTITY,
    deployment_id: null,
    swap_id: null,
    data: {},
    metadata: {},
  })

  it('accepts a Python-published entity.registered (naive utcnow timestamp, empty data)', () => {
    const doc = {
      ...pythonEnvelope('entity.registered'),
      entity_name: 'test_strategy',
      entity_type: 'strategy',
      version: '1.0.0',
    }
    const parsed = v.parse(LibraryEvent, doc)
    expect(parsed).toMatchObject({ event_type: 'entity.registered', timestamp: doc.timestamp, data: {} })
  })

  it('accepts a Python-published deployment.completed (naive utcnow timestamp, empty data)', () => {
    const doc = {
      ...pythonEnvelope('deployment.completed'),
      deployment_id: DEPLOYMENT,
      environment: 'live',
      version: '1.0.0',
    }
    const parsed = v.parse(LibraryEvent, doc)
    expect(parsed).toMatchObject({ event_type: 'deployment.completed', deployment_id: DEPLOYMENT, data: {} })
  })

  it.each(['2024-05-01T12:00:00', '2024-05-01T12:00:00.123456+00:00', '2024-05-01T12:00:00Z'])(
    'accepts the Python timestamp form %s',
    (timestamp) => {
      expect(v.safeParse(LibraryEvent, { ...VALID['entity.registered'], timestamp }).success).toBe(true)
    },
  )
})

describe('createEvent', () => {
  const input: NewEvent = {
    event_type: 'entity.registered',
    entity_id: ENTITY,
    entity_name: 'mean_reversion',
    entity_type: 'strategy',
    version: '1.0.0',
  }

  it('fills event_id, timestamp and source', () => {
    const before = Date.now()
    const event = createEvent(input)
    const after = Date.now()
    expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(event.source).toBe(EVENT_SOURCE)
    expect(event.timestamp).toMatch(/Z$/)
    const at = Date.parse(event.timestamp)
    expect(at).toBeGreaterThanOrEqual(before)
    expect(at).toBeLessThanOrEqual(after)
    expect(event).toMatchObject({ ...input, deployment_id: null, swap_id: null, data: {}, metadata: {} })
  })

  it('gives every event its own id', () => {
    expect(createEvent(input).event_id).not.toBe(createEvent(input).event_id)
  })

  it('keeps envelope fields the producer supplies', () => {
    const event = createEvent({
      ...input,
      event_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      timestamp: '2024-05-01T12:00:00Z',
      source: 'importer',
    })
    expect(event).toMatchObject({
      event_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      timestamp: '2024-05-01T12:00:00Z',
      source: 'importer',
    })
  })

  it('builds an event of every type from its valid document', () => {
    for (const type of EVENT_TYPES) {
      const { event_id: _id, timestamp: _ts, source: _src, ...rest } = VALID[type]
      expect(createEvent(rest as NewEvent).event_type).toBe(type)
    }
  })

  it('rejects bad input', () => {
    expect(() => createEvent({ ...input, entity_id: 'not-a-uuid' })).toThrow(v.ValiError)
    expect(() => createEvent({ ...input, version: 'latest' })).toThrow(v.ValiError)
    expect(() =>
      createEvent({ event_type: 'health.degraded', data: { component: 'db' } } as NewEvent),
    ).toThrow(v.ValiError)
  })

  it('rejects an unknown event_type', () => {
    expect(() => createEvent({ ...input, event_type: 'entity.exploded' } as unknown as NewEvent)).toThrow(
      v.ValiError,
    )
  })
})
