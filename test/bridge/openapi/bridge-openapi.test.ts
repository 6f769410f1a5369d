import SwaggerParser from '@apidevtools/swagger-parser'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBridge } from '../../../bridge/bridge'
import { loadConfig } from '../../../bridge/config'
import { createMetrics } from '../../../bridge/metrics'
import { bridgeDocument } from '../../../bridge/openapi/document'
import {
  CreateSubscription,
  PublishAccepted,
  PublishBody,
  SubscribeQuery,
} from '../../../shared/bridge-contract'
import { jsonSchema } from '../../../shared/openapi/document'
import { operationsFromRoutes } from '../../../shared/openapi/operations-from-routes'
import { type InProcessBridge, startInProcessBridge } from '../../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { documentedRoutes, exampleProblems, registeredRoutes } from '../../support/openapi-coverage'

/** The app as main.ts builds it, never started: enough to list its routes and serve the reference. */
const offlineApp = () => {
  const config = loadConfig({
    NATS_URL: 'nats://127.0.0.1:1',
    LOG_LEVEL: 'silent',
    BRIDGE_TOKENS: JSON.stringify({ t: { token: 'openapi-test-token-0123456789', subscribe: ['>'] } }),
  })
  return createBridge(config, { metrics: createMetrics({ defaultMetrics: false }) }).app
}

describe('bridge OpenAPI document', () => {
  const app = offlineApp()
  const doc = bridgeDocument(app.routes)

  it('describes every route the app registers, and no other', () => {
    const registered = registeredRoutes(app.routes)
    expect(registered.length).toBeGreaterThan(5)
    expect(documentedRoutes(doc)).toEqual(registered)
  })

  it('has examples that validate against their schemas', () => {
    expect(exampleProblems(operationsFromRoutes(app.routes))).toEqual([])
    expect(v.safeParse(PublishBody, { events: [] }).success).toBe(false)
  })

  it('takes request bodies and query strings from the routes that declare them', () => {
    const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>
    expect(paths['/v1/subscriptions']?.post?.requestBody).toMatchObject({
      content: { 'application/json': { schema: jsonSchema(CreateSubscription) } },
    })
    expect(paths['/v1/events']?.post?.requestBody).toMatchObject({
      content: { 'application/json': { schema: jsonSchema(PublishBody) } },
    })
    const parameters = (paths['/v1/subscribe']?.get?.parameters ?? []) as Array<{ in: string; name: string }>
    const query = parameters.filter((p) => p.in === 'query').map((p) => p.name)
    expect(query).toEqual(Object.keys(SubscribeQuery.entries))
  })

  it('is an OpenAPI 3.1 document that swagger-parser accepts, as served', async () => {
    const served = (await (await app.request('/openapi.json')).json()) as Record<string, unknown>
    expect(served).toMatchObject({
      openapi: '3.1.0',
      jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    })
    expect(JSON.stringify(served)).not.toContain('"required":[]')
    // validate() dereferences in place: hand it a copy
    await expect(SwaggerParser.validate(structuredClone(served) as never)).resolves.toBeDefined()
  })

  it('serves the document at /openapi.json and a self-contained reference at /docs', async () => {
    const json = await app.request('/openapi.json')
    expect(json.status).toBe(200)
    expect(await json.json()).toEqual(doc)
    const docs = await app.request('/docs')
    expect(docs.status).toBe(200)
    const html = await docs.text()
    expect(html).toContain('openapi.json')
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
  })

  it('serves the console and its assets without any outside reference', async () => {
    for (const path of ['/console', '/console/app.js', '/console/app.css']) {
      const res = await app.request(path)
      expect(res.status, path).toBe(200)
      expect(await res.text(), path).not.toMatch(/https?:\/\//)
    }
    expect((await app.request('/console')).headers.get('content-security-policy')).toContain(
      "connect-src 'self'",
    )
  })
})

describe('bridge OpenAPI examples against the real bridge', () => {
  let nats: NatsServerHandle
  let bridge: InProcessBridge

  beforeAll(async () => {
    nats = await startNatsServer()
    bridge = await startInProcessBridge(nats.url)
  }, 60_000)

  afterAll(async () => {
    await bridge?.stop()
    await nats?.cleanup()
  })

  it('accepts the publish examples with 202 and a stream sequence per event, as the shared contract says', async () => {
    const publish = operationsFromRoutes(offlineApp().routes).find((op) => op.path === '/v1/events')!
    for (const example of publish.examples ?? []) {
      const res = await fetch(`${bridge.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(example.body),
      })
      expect(res.status, example.summary).toBe(202)
      const body = v.parse(PublishAccepted, await res.json())
      expect(body.results[0]?.seq).toBeGreaterThan(0)
    }
  })
})
