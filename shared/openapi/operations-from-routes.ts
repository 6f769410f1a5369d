import { type DeclaredInput, declaredInputOf, routeDocOf } from './describe-route'
import type { HttpMethod, OperationSpec } from './document'

/** One handler of a Hono app's `app.routes`. */
export interface RegisteredRoute {
  method: string
  path: string
  handler: unknown
}

const withInput = (op: OperationSpec, { params, ...input }: DeclaredInput): OperationSpec => ({
  ...op,
  ...input,
  ...(params && {
    params: {
      ...op.params,
      ...Object.fromEntries(
        Object.entries(params).map(([name, schema]) => [
          name,
          { description: op.params?.[name]?.description ?? name, schema },
        ]),
      ),
    },
  }),
})

/**
 * The operations of the routes that describe themselves (`describeRoute`), completed with the inputs
 * their validators declare, in the order the app registered them. Routes without a description are
 * left out of the document.
 */
export const operationsFromRoutes = (routes: readonly RegisteredRoute[]): OperationSpec[] => {
  const handlers = new Map<string, RegisteredRoute[]>()
  for (const route of routes) {
    const key = `${route.method} ${route.path}`
    handlers.set(key, [...(handlers.get(key) ?? []), route])
  }
  const operations: OperationSpec[] = []
  for (const route of handlers.values()) {
    const doc = route.map(({ handler }) => routeDocOf(handler)).find(Boolean)
    if (!doc) continue
    const { method, path } = route[0]!
    let op: OperationSpec = { method: method.toLowerCase() as HttpMethod, path, ...doc }
    for (const { handler } of route) {
      const input = declaredInputOf(handler)
      if (input) op = withInput(op, input)
    }
    operations.push(op)
  }
  return operations
}
