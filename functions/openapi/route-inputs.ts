import type { OperationSpec } from '../../shared/openapi/document'
import { ROUTE_INPUT, type RouteInput } from '../lib/validate'

export interface RegisteredRoute {
  method: string
  path: string
  handler: unknown
}

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`

/**
 * Completes the operations with the body, query and path parameters their routes declare through their validators
 * (see lib/validate.ts), so the document describes what the app checks. An operation may still
 * name a body itself where its route reads the raw body (webhooks, /internal).
 */
export const withDeclaredInputs = (
  operations: readonly OperationSpec[],
  routes: readonly RegisteredRoute[],
): OperationSpec[] => {
  const declared = new Map<string, RouteInput[]>()
  for (const route of routes) {
    const input = (route.handler as { [ROUTE_INPUT]?: RouteInput })[ROUTE_INPUT]
    if (!input) continue
    const at = key(route.method, route.path)
    declared.set(at, [...(declared.get(at) ?? []), input])
  }
  return operations.map((op) => {
    const inputs = declared.get(key(op.method, op.path)) ?? []
    const complete = { ...op }
    for (const input of inputs) {
      if (input.target === 'json')
        Object.assign(complete, { body: input.schema, bodyRequired: input.required })
      else if (input.target === 'query') complete.query = input.schema
      else {
        const description = op.params?.[input.name]?.description ?? input.name
        complete.params = { ...op.params, [input.name]: { description, schema: input.schema } }
      }
    }
    return complete
  })
}
