import SwaggerParser from '@apidevtools/swagger-parser'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { app } from '../../functions/app'
import { functionsDocument } from '../../functions/openapi/document'
import { CreateEntityBody, DeleteEntityBody } from '../../functions/routes/entities'
import { ENTITY_EXAMPLE } from '../../functions/routes/entities.doc'
import { EntityView } from '../../functions/services/entities'
import { operationsFromRoutes } from '../../shared/openapi/operations-from-routes'
import { documentedRoutes, exampleProblems, registeredRoutes } from '../support/openapi-coverage'
import { call, type Json, uniqueName } from './support/call'

const operations = operationsFromRoutes(app.routes)
const apiOperations = operations.filter((op) => op.path.startsWith('/api/v1/'))

describe('functions OpenAPI document', () => {
  const doc = functionsDocument(app.routes)

  it('describes every route the app registers, and no other', () => {
    const registered = registeredRoutes(app.routes)
    expect(registered.length).toBeGreaterThan(10)
    expect(documentedRoutes(doc)).toEqual(registered)
  })

  it('takes request bodies and queries from what the routes validate', () => {
    const undeclared = apiOperations
      .filter((op) => (op.method === 'get' ? !op.path.endsWith('/:id') && !op.query : !op.body))
      .map((op) => `${op.method} ${op.path}`)
    expect(undeclared).toEqual([])
    const find = (method: string, path: string) =>
      apiOperations.find((op) => op.method === method && op.path === path)
    expect(find('post', '/api/v1/entities')).toMatchObject({ body: CreateEntityBody, bodyRequired: true })
    expect(find('delete', '/api/v1/entities/:id')).toMatchObject({
      body: DeleteEntityBody,
      bodyRequired: false,
    })
    const idParam = (doc.paths as Json)['/api/v1/swaps/{id}'].get.parameters[0]
    expect(idParam).toMatchObject({ name: 'id', in: 'path', schema: { type: 'string', format: 'uuid' } })
  })

  it('documents traceparent and tracestate on every operation that emits events', () => {
    const emitting = operations.filter(
      (op) => op.method !== 'get' && (op.path.startsWith('/api/v1/') || op.path.startsWith('/webhooks/')),
    )
    expect(emitting.length).toBeGreaterThan(8)
    const untraced = emitting
      .filter((op) => !op.headers?.traceparent || !op.headers?.tracestate)
      .map((op) => `${op.method} ${op.path}`)
    expect(untraced).toEqual([])
  })

  it('has examples that validate against their schemas', () => {
    expect(exampleProblems(operations)).toEqual([])
  })

  it('is an OpenAPI 3.1 document that swagger-parser accepts, as served', async () => {
    const served = (await call<Record<string, unknown>>('/openapi.json', { key: null })).body
    expect(served).toMatchObject({
      openapi: '3.1.0',
      jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    })
    expect(JSON.stringify(served)).not.toContain('"required":[]')
    // validate() dereferences in place: hand it a copy
    await expect(SwaggerParser.validate(structuredClone(served) as never)).resolves.toBeDefined()
  })

  it('serves /openapi.json and a self-contained /docs without an API key', async () => {
    const json = await call('/openapi.json', { key: null })
    expect(json.status).toBe(200)
    expect(json.body).toEqual(doc)
    const docs = await call('/docs', { key: null })
    expect(docs.status).toBe(200)
    expect(docs.body).toContain('openapi.json')
    expect(docs.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
  })

  it('creates an entity from the documented example, answered in the documented shape', async () => {
    const res = await call('/api/v1/entities', { json: { ...ENTITY_EXAMPLE, name: uniqueName('openapi') } })
    expect(res.status).toBe(201)
    const parsed = v.safeParse(EntityView, res.body)
    expect(parsed.success ? [] : v.summarize(parsed.issues)).toEqual([])
  })

  it('passes input validation in the real app with every API example', async () => {
    const rejected: string[] = []
    for (const op of apiOperations) {
      if (op.method === 'post' && op.path === '/api/v1/entities') continue
      for (const example of op.examples ?? []) {
        const path = `${example.path ?? op.path}${example.query ? `?${new URLSearchParams(example.query)}` : ''}`
        const res = await call(path, {
          method: op.method.toUpperCase(),
          ...(example.body === undefined ? {} : { json: example.body }),
        })
        // The ids in the examples name nothing, so 404 is the expected answer where one is given.
        if (res.status === 400 || res.status === 415 || res.status >= 500)
          rejected.push(`${op.method} ${path}: ${res.status} ${JSON.stringify(res.body)}`)
      }
    }
    expect(rejected).toEqual([])
  })
})
