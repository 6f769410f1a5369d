import * as v from 'valibot'
import type { OperationSpec } from '../../shared/openapi/document'
import { toOpenApiPath } from '../../shared/openapi/document'

const UNDOCUMENTED = [/^\/openapi\.json$/, /^\/docs$/, /^\/console(\/.*)?$/, /^\/asyncapi(\.json)?$/]

/** `METHOD /path` of every handler a Hono app registered, middleware and the reference pages left out. */
export const registeredRoutes = (routes: ReadonlyArray<{ method: string; path: string }>) =>
  [
    ...new Set(
      routes
        .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.some((re) => re.test(r.path)))
        .map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`),
    ),
  ].sort()

export const documentedRoutes = (doc: { paths: Record<string, Record<string, unknown>> }) =>
  Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort()

const templateMatcher = (path: string) =>
  new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/:([A-Za-z_]\w*)/g, '[^/]+')}$`)

/** Problems with the examples of the operations: bodies or queries their schemas reject, paths that do not fit. */
export const exampleProblems = (operations: OperationSpec[]): string[] => {
  const problems: string[] = []
  for (const op of operations) {
    const where = `${op.method.toUpperCase()} ${op.path}`
    if (op.body && !(op.examples ?? []).some((e) => e.body !== undefined))
      problems.push(`${where}: no body example`)
    for (const example of op.examples ?? []) {
      if (example.path && !templateMatcher(op.path).test(example.path))
        problems.push(`${where}: example path ${example.path} does not fit`)
      if (example.body !== undefined) {
        if (!op.body) problems.push(`${where}: example body but no body schema`)
        else {
          const parsed = v.safeParse(op.body, example.body)
          if (!parsed.success)
            problems.push(`${where} body "${example.summary}": ${v.summarize(parsed.issues)}`)
        }
      }
      if (example.query) {
        if (!op.query) problems.push(`${where}: example query but no query schema`)
        else {
          const parsed = v.safeParse(op.query, example.query)
          if (!parsed.success)
            problems.push(`${where} query "${example.summary}": ${v.summarize(parsed.issues)}`)
        }
      }
    }
  }
  return problems
}
