import { Hono, type MiddlewareHandler } from 'hono'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { declareInput, describeRoute } from '../../shared/openapi/describe-route'
import { operationsFromRoutes } from '../../shared/openapi/operations-from-routes'

const Id = v.pipe(v.string(), v.uuid())
const Part = v.string()
const Body = v.object({ name: v.string() })
const passOn: () => MiddlewareHandler = () => async (_c, next) => next()

const things = new Hono()
  .get('/', (c) => c.text('undocumented'))
  .put(
    '/:id/:part',
    describeRoute({
      tag: 'things',
      summary: 'Replace a part of a thing',
      params: { id: { description: 'The thing' } },
      responses: { 200: { description: 'Replaced' } },
    }),
    declareInput(passOn(), { params: { id: Id, part: Part } }),
    declareInput(passOn(), { body: Body, bodyRequired: false }),
    (c) => c.text('replaced'),
  )
const app = new Hono().route('/things', things)

describe('operations from the routes', () => {
  it('documents the described routes alone, at the path the app mounted them, with the inputs their validators declare', () => {
    expect(operationsFromRoutes(app.routes)).toEqual([
      {
        method: 'put',
        path: '/things/:id/:part',
        tag: 'things',
        summary: 'Replace a part of a thing',
        params: {
          id: { description: 'The thing', schema: Id },
          part: { description: 'part', schema: Part },
        },
        body: Body,
        bodyRequired: false,
        responses: { 200: { description: 'Replaced' } },
      },
    ])
  })

  it('leaves the answers of a described route as they are', async () => {
    const res = await app.request('/things/6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f/a', { method: 'PUT' })
    expect(await res.text()).toBe('replaced')
  })
})
