import { beforeAll, describe, expect, it } from 'vitest'
import { type CallOptions, call, uniqueName } from './support/call'
import { outboxFor, query } from './support/database'

interface Case {
  name: string
  path: string
  options: CallOptions
  status: number
  code: string
  /** A field path that must appear in error.details. */
  field?: string
}

let entityId: string
let deploymentId: string
const BAD_UUID = 'not-a-uuid'

const catalogName = uniqueName('catalog')

const cases = (): Case[] => {
  const entity = (json: unknown): CallOptions => ({ json })
  const valid = { name: catalogName, type: 'strategy', version: '1.0.0' }
  return [
    // POST /entities
    {
      name: 'malformed JSON',
      path: '/api/v1/entities',
      options: { body: '{"name": ', headers: { 'content-type': 'application/json' } },
      status: 400,
      code: 'malformed_json',
    },
    {
      name: 'not JSON content type',
      path: '/api/v1/entities',
      options: { body: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } },
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'oversized body',
      path: '/api/v1/entities',
      options: entity({ ...valid, description: 'x'.repeat(70_000) }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'array body',
      path: '/api/v1/entities',
      options: entity([valid]),
      status: 400,
      code: 'invalid_input',
      field: '(root)',
    },
    {
      name: 'missing name',
      path: '/api/v1/entities',
      options: entity({ type: 'strategy', version: '1.0.0' }),
      status: 400,
      code: 'invalid_input',
      field: 'name',
    },
    {
      name: 'empty name',
      path: '/api/v1/entities',
      options: entity({ ...valid, name: '  ' }),
      status: 400,
      code: 'invalid_input',
      field: 'name',
    },
    {
      name: 'extra field',
      path: '/api/v1/entities',
      options: entity({ ...valid, owner: 'me' }),
      status: 400,
      code: 'invalid_input',
      field: 'owner',
    },
    {
      name: 'wrong-typed version',
      path: '/api/v1/entities',
      options: entity({ ...valid, version: 1 }),
      status: 400,
      code: 'invalid_input',
      field: 'version',
    },
    {
      name: 'bad enum type',
      path: '/api/v1/entities',
      options: entity({ ...valid, type: 'robot' }),
      status: 400,
      code: 'invalid_input',
      field: 'type',
    },
    {
      name: 'bad semver',
      path: '/api/v1/entities',
      options: entity({ ...valid, version: '1.0' }),
      status: 400,
      code: 'invalid_input',
      field: 'version',
    },
    {
      name: 'config not an object',
      path: '/api/v1/entities',
      options: entity({ ...valid, config: [1] }),
      status: 400,
      code: 'invalid_input',
      field: 'config',
    },
    // GET /entities
    {
      name: 'bad cursor',
      path: '/api/v1/entities?cursor=!!!',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'cursor',
    },
    {
      name: 'forged cursor',
      path: `/api/v1/entities?cursor=${btoa('{"after":"x"}')}`,
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'cursor',
    },
    {
      name: 'limit 0',
      path: '/api/v1/entities?limit=0',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'limit',
    },
    {
      name: 'limit too large',
      path: '/api/v1/entities?limit=101',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'limit',
    },
    {
      name: 'limit not a number',
      path: '/api/v1/entities?limit=ten',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'limit',
    },
    {
      name: 'bad type filter',
      path: '/api/v1/entities?type=robot',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'type',
    },
    {
      name: 'unknown query parameter',
      path: '/api/v1/entities?colour=red',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'colour',
    },
    {
      name: 'repeated query parameter',
      path: '/api/v1/entities?type=model&type=strategy',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'type',
    },
    // /entities/{id}
    {
      name: 'GET bad uuid',
      path: `/api/v1/entities/${BAD_UUID}`,
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    {
      name: 'GET unknown id',
      path: `/api/v1/entities/${crypto.randomUUID()}`,
      options: {},
      status: 404,
      code: 'entity_not_found',
    },
    {
      name: 'PATCH bad uuid',
      path: `/api/v1/entities/${BAD_UUID}`,
      options: { method: 'PATCH', json: { description: 'x' } },
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    {
      name: 'PATCH empty patch',
      path: `/api/v1/entities/${entityId}`,
      options: { method: 'PATCH', json: {} },
      status: 400,
      code: 'invalid_input',
    },
    {
      name: 'PATCH immutable field',
      path: `/api/v1/entities/${entityId}`,
      options: { method: 'PATCH', json: { version: '2.0.0' } },
      status: 400,
      code: 'invalid_input',
      field: 'version',
    },
    {
      name: 'PATCH bad status',
      path: `/api/v1/entities/${entityId}`,
      options: { method: 'PATCH', json: { status: 'deleted' } },
      status: 400,
      code: 'invalid_input',
      field: 'status',
    },
    {
      name: 'PATCH malformed JSON',
      path: `/api/v1/entities/${entityId}`,
      options: { method: 'PATCH', body: '{', headers: { 'content-type': 'application/json' } },
      status: 400,
      code: 'malformed_json',
    },
    {
      name: 'DELETE bad uuid',
      path: `/api/v1/entities/${BAD_UUID}`,
      options: { method: 'DELETE' },
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    {
      name: 'DELETE extra field',
      path: `/api/v1/entities/${entityId}`,
      options: { method: 'DELETE', json: { why: 'x' } },
      status: 400,
      code: 'invalid_input',
      field: 'why',
    },
    {
      name: 'validate bad uuid',
      path: `/api/v1/entities/${BAD_UUID}/validate`,
      options: { method: 'POST' },
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    {
      name: 'validate with a body field',
      path: `/api/v1/entities/${entityId}/validate`,
      options: { json: { strict: true } },
      status: 400,
      code: 'invalid_input',
      field: 'strict',
    },
    // POST /deployments
    {
      name: 'deployment missing environment',
      path: '/api/v1/deployments',
      options: { json: { entity_id: entityId } },
      status: 400,
      code: 'invalid_input',
      field: 'environment',
    },
    {
      name: 'deployment bad environment',
      path: '/api/v1/deployments',
      options: { json: { entity_id: entityId, environment: 'prod' } },
      status: 400,
      code: 'invalid_input',
      field: 'environment',
    },
    {
      name: 'deployment bad entity uuid',
      path: '/api/v1/deployments',
      options: { json: { entity_id: BAD_UUID, environment: 'dev' } },
      status: 400,
      code: 'invalid_input',
      field: 'entity_id',
    },
    {
      name: 'deployment bad semver',
      path: '/api/v1/deployments',
      options: { json: { entity_id: entityId, environment: 'dev', version: 'v1' } },
      status: 400,
      code: 'invalid_input',
      field: 'version',
    },
    {
      name: 'deployment extra field',
      path: '/api/v1/deployments',
      options: { json: { entity_id: entityId, environment: 'dev', force: true } },
      status: 400,
      code: 'invalid_input',
      field: 'force',
    },
    {
      name: 'deployment oversized',
      path: '/api/v1/deployments',
      options: {
        body: `{"entity_id":"${'a'.repeat(70_000)}"}`,
        headers: { 'content-type': 'application/json' },
      },
      status: 413,
      code: 'payload_too_large',
    },
    // GET /deployments
    {
      name: 'deployments bad entity filter',
      path: `/api/v1/deployments?entity_id=${BAD_UUID}`,
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'entity_id',
    },
    {
      name: 'deployments bad status filter',
      path: '/api/v1/deployments?status=done',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'status',
    },
    {
      name: 'deployments bad cursor',
      path: '/api/v1/deployments?cursor=abc',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'cursor',
    },
    {
      name: 'deployments limit too large',
      path: '/api/v1/deployments?limit=1000',
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'limit',
    },
    {
      name: 'GET deployment bad uuid',
      path: `/api/v1/deployments/${BAD_UUID}`,
      options: {},
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    // transitions
    {
      name: 'complete bad uuid',
      path: `/api/v1/deployments/${BAD_UUID}/complete`,
      options: { method: 'POST' },
      status: 400,
      code: 'invalid_input',
      field: 'id',
    },
    {
      name: 'fail without error',
      path: `/api/v1/deployments/${deploymentId}/fail`,
      options: { json: {} },
      status: 400,
      code: 'invalid_input',
      field: 'error',
    },
    {
      name: 'fail with wrong-typed error',
      path: `/api/v1/deployments/${deploymentId}/fail`,
      options: { json: { error: 42 } },
      status: 400,
      code: 'invalid_input',
      field: 'error',
    },
    {
      name: 'fail with empty body',
      path: `/api/v1/deployments/${deploymentId}/fail`,
      options: { method: 'POST' },
      status: 400,
      code: 'invalid_input',
      field: '(root)',
    },
    {
      name: 'rollback without reason',
      path: `/api/v1/deployments/${deploymentId}/rollback`,
      options: { json: { why: 'x' } },
      status: 400,
      code: 'invalid_input',
      field: 'reason',
    },
    {
      name: 'complete with malformed JSON',
      path: `/api/v1/deployments/${deploymentId}/complete`,
      options: { body: '{]', headers: { 'content-type': 'application/json' } },
      status: 400,
      code: 'malformed_json',
    },
    { name: 'unknown route', path: '/api/v1/widgets', options: {}, status: 404, code: 'not_found' },
  ]
}

describe('bad input', () => {
  beforeAll(async () => {
    const created = await call('/api/v1/entities', {
      json: { name: uniqueName('target'), type: 'model', version: '1.0.0' },
    })
    entityId = created.body.id
    const started = await call('/api/v1/deployments', { json: { entity_id: entityId, environment: 'dev' } })
    deploymentId = started.body.id
    expect(started.status).toBe(201)
  })

  it('every route answers 4xx JSON naming the field, and writes nothing', async () => {
    const failures: string[] = []
    for (const c of cases()) {
      const res = await call(c.path, c.options)
      const error = res.body?.error
      const fields: string[] = Array.isArray(error?.details)
        ? error.details.map((d: { path: string }) => d.path)
        : []
      if (
        res.status !== c.status ||
        error?.code !== c.code ||
        typeof error?.request_id !== 'string' ||
        (c.field !== undefined && !fields.includes(c.field))
      ) {
        failures.push(`${c.name}: ${res.status} ${JSON.stringify(res.body)}`)
      }
    }
    expect(failures).toEqual([])
    // nothing written: no entity from the catalog, no event or deployment beyond the setup's
    const named = await query<{ n: number }>('select count(*)::int as n from entities where name = $1', [
      catalogName,
    ])
    expect(named[0]!.n).toBe(0)
    expect((await outboxFor(entityId)).map((r) => r.event_type)).toEqual([
      'entity.registered',
      'deployment.started',
    ])
    const deployments = await query<{ status: string }>(
      'select status from deployments where entity_id = $1',
      [entityId],
    )
    expect(deployments).toEqual([{ status: 'in_progress' }])
  })
})
