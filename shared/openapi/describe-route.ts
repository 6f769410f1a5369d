import type { MiddlewareHandler } from 'hono'
import type * as v from 'valibot'
import type { OperationSpec } from './document'

/** What a route's validators know of its inputs: the OpenAPI document takes them from there. */
export interface DeclaredInput {
  body?: v.GenericSchema
  bodyRequired?: boolean
  query?: v.GenericSchema & { entries: v.ObjectEntries }
  /** Path parameters' schemas, by name. */
  params?: Record<string, v.GenericSchema>
}

/** The rest of a route's operation; method and path come from the route itself. */
export type RouteDoc = Omit<OperationSpec, 'method' | 'path' | 'body' | 'bodyRequired' | 'query'>

const DECLARED_INPUT = Symbol('declared input')
const ROUTE_DOC = Symbol('route doc')

type Marked = { [DECLARED_INPUT]?: DeclaredInput; [ROUTE_DOC]?: RouteDoc }

/** Marks a validator with the inputs it checks; the handler itself is returned. */
export const declareInput = <H extends object>(handler: H, input: DeclaredInput): H =>
  Object.assign(handler, { [DECLARED_INPUT]: input })

/** Hands the request on: `next()` is already a promise, so no `async` wrapper (one promise less per request). */
const passOn = (): MiddlewareHandler => (_c, next) => next()

/**
 * The route's operation in the OpenAPI document, placed first among its handlers:
 * `.post('/', entityDocs.register, jsonBody(CreateEntityBody), handler)`, where
 * `entityDocs = describeRoutes({ register: {…}, … })`. `readByRoute` declares inputs the handler
 * reads and checks itself (as `bodyReadByRoute` does), without a second pass-through per request.
 */
export const describeRoute = (doc: RouteDoc, readByRoute?: DeclaredInput): MiddlewareHandler => {
  const marker = Object.assign(passOn(), { [ROUTE_DOC]: doc })
  return readByRoute ? declareInput(marker, readByRoute) : marker
}

/** Declares the body of a route whose handler reads and checks it itself; passes the request on. */
export const bodyReadByRoute = (schema: v.GenericSchema): MiddlewareHandler =>
  declareInput(passOn(), { body: schema })

export const declaredInputOf = (handler: unknown): DeclaredInput | undefined =>
  typeof handler === 'function' ? (handler as Marked)[DECLARED_INPUT] : undefined

export const routeDocOf = (handler: unknown): RouteDoc | undefined =>
  typeof handler === 'function' ? (handler as Marked)[ROUTE_DOC] : undefined

/** `describeRoute` for each of a module's routes, by name. */
export const describeRoutes = <K extends string>(docs: Record<K, RouteDoc>) =>
  Object.fromEntries(
    Object.entries<RouteDoc>(docs).map(([name, doc]) => [name, describeRoute(doc)]),
  ) as Record<K, MiddlewareHandler>
