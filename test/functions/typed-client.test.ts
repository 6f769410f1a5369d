import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { createFunctionsClient } from '../../functions/client'
import worker from '../../functions/index'
import { TEST_API_KEYS } from './support/api-keys'
import { testEnv, uniqueName } from './support/call'

/** The typed client over the Worker's own fetch handler: the same requests an edge client sends. */
const client = (key: string = TEST_API_KEYS.writer.key) =>
  createFunctionsClient('http://functions.test', key, {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(new Request(input, init), testEnv(), ctx)
      await waitOnExecutionContext(ctx)
      return res
    },
  })

describe('typed client (hono/client)', () => {
  it('creates, reads and lists an entity with typed requests and responses', async () => {
    const api = client()
    const name = uniqueName('typed-client')
    const created = await api.api.v1.entities.$post({
      json: { name, type: 'model', version: '2.1.0', config: { framework: 'torch' } },
    })
    expect(created.status).toBe(201)
    if (created.status !== 201) return
    const entity = await created.json()
    expect(entity).toMatchObject({ name, type: 'model', version: '2.1.0', status: 'active' })

    const fetched = await api.api.v1.entities[':id'].$get({ param: { id: entity.id } })
    expect(fetched.status).toBe(200)
    if (fetched.status !== 200) return
    expect((await fetched.json()).name).toBe(name)

    const listed = await api.api.v1.entities.$get({ query: { name_prefix: name } })
    expect(listed.status).toBe(200)
    if (listed.status !== 200) return
    expect((await listed.json()).items.map((item) => item.id)).toEqual([entity.id])

    expect(api.api.v1.entities[':id'].$url({ param: { id: entity.id } }).pathname).toBe(
      `/api/v1/entities/${entity.id}`,
    )
  })

  it('types the error answers too', async () => {
    const res = await client('not-a-key').api.v1.entities.$get({ query: {} })
    expect(res.status).toBe(401)
    const body = (await res.json()) as unknown as { error: { code: string } }
    expect(body.error.code).toBeTruthy()
  })

  it('knows the response fields', async () => {
    const res = await client().api.v1.entities.$post({
      json: { name: uniqueName('typed-client'), type: 'indicator', version: '1.0.0' },
    })
    expect(res.status).toBe(201)
    if (res.status !== 201) return
    const entity = await res.json()
    const validation: { status: string } = entity.validation
    expect(validation.status).toBe('pending')
    // @ts-expect-error the entity view has no such field
    expect(entity.no_such_field).toBeUndefined()
  })

  it('walks a deployment through its transitions', async () => {
    const api = client()
    const created = await api.api.v1.entities.$post({
      json: { name: uniqueName('typed-client'), type: 'model', version: '1.0.0' },
    })
    if (created.status !== 201) throw new Error(`entity not created: ${created.status}`)
    const entity = await created.json()
    const started = await api.api.v1.deployments.$post({ json: { entity_id: entity.id, environment: 'dev' } })
    if (started.status !== 201) throw new Error(`deployment not started: ${started.status}`)
    const deployment = await started.json()
    const completed = await api.api.v1.deployments[':id'].complete.$post({ param: { id: deployment.id } })
    expect(completed.status).toBe(200)
    if (completed.status !== 200) return
    expect((await completed.json()).status).toBe('completed')
    const health = await api.health.$get()
    expect(health.status).toBe(200)
  })

  it('types request bodies and queries from the route declarations', async () => {
    const api = client()
    const bad = await api.api.v1.entities.$post({
      // @ts-expect-error type is one of the entity types, not any string
      json: { name: uniqueName('typed-client'), type: 'spreadsheet', version: '1.0.0' },
    })
    expect(bad.status).toBe(400)
    // @ts-expect-error the entity list has no such query parameter
    const unknown = await api.api.v1.entities.$get({ query: { colour: 'blue' } })
    expect(unknown.status).toBe(400)
    const failed = await api.api.v1.deployments[':id'].fail.$post({
      param: { id: crypto.randomUUID() },
      // @ts-expect-error fail needs an error text
      json: {},
    })
    expect(failed.status).toBe(400)
  })
})
