import { toJsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'

type JsonSchema = Record<string, unknown>
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete'

export interface ResponseSpec {
  description: string
  schema?: v.GenericSchema
  /** Defaults to application/json when a schema is given. */
  contentType?: string
}

export interface RequestExample {
  summary: string
  /** Concrete path, e.g. `/api/v1/entities/6f1c…`; the operation's path when absent. */
  path?: string
  query?: Record<string, string>
  body?: unknown
}

export interface OperationSpec {
  method: HttpMethod
  /** Hono-style path (`/api/v1/entities/:id`). */
  path: string
  summary: string
  description?: string
  tag: string
  /** Name of a security scheme of the document; absent for public routes. */
  security?: string
  params?: Record<string, { description: string; schema?: v.GenericSchema }>
  /** An object schema (its entries become query parameters). */
  query?: v.GenericSchema & { entries: v.ObjectEntries }
  headers?: Record<string, { description: string; required?: boolean }>
  body?: v.GenericSchema
  bodyRequired?: boolean
  bodyContentType?: string
  examples?: RequestExample[]
  responses: Record<number, ResponseSpec>
}

export interface SurfaceSpec {
  title: string
  version: string
  description: string
  securitySchemes: Record<string, JsonSchema>
  /** The reference's sections in order, where it is not the order of the operations' first use. */
  tags?: readonly string[]
  operations: OperationSpec[]
}

/** An empty `required` list says nothing, and tools written for OpenAPI 3.0 refuse it. */
const withoutEmptyRequired = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutEmptyRequired)
  if (!value || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    if (key === 'required' && Array.isArray(item) && item.length === 0) continue
    out[key] = withoutEmptyRequired(item)
  }
  return out
}

/**
 * JSON Schema 2020-12, the dialect of OpenAPI 3.1, as `npm run schemas` converts: checks JSON
 * Schema cannot express are left out, not fatal.
 */
export const jsonSchema = (schema: v.GenericSchema): JsonSchema => {
  const { $schema: _, ...rest } = toJsonSchema(schema, {
    target: 'draft-2020-12',
    typeMode: 'ignore',
    errorMode: 'ignore',
  }) as JsonSchema
  return withoutEmptyRequired(rest) as JsonSchema
}

export const ErrorBody = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    request_id: v.string(),
    details: v.optional(v.unknown()),
  }),
})

export const errorResponse = (description: string): ResponseSpec => ({ description, schema: ErrorBody })

export const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]\w*)/g, '{$1}')

const pathParamNames = (path: string) => [...path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!)

const operationId = (op: OperationSpec) =>
  `${op.method}${op.path
    .split(/[/_.-]/)
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `By${cap(part.slice(1))}` : cap(part)))
    .join('')}`
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

const buildOperation = (op: OperationSpec) => {
  const parameters: JsonSchema[] = []
  for (const name of pathParamNames(op.path)) {
    const param = op.params?.[name]
    parameters.push({
      name,
      in: 'path',
      required: true,
      description: param?.description,
      schema: param?.schema ? jsonSchema(param.schema) : { type: 'string' },
    })
  }
  if (op.query) {
    for (const [name, entry] of Object.entries(op.query.entries)) {
      const schema = jsonSchema(entry as v.GenericSchema)
      parameters.push({
        name,
        in: 'query',
        required: (entry as v.GenericSchema).type !== 'optional',
        schema,
      })
    }
  }
  for (const [name, header] of Object.entries(op.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: { type: 'string' },
    })
  }
  const bodyExamples = (op.examples ?? []).filter((e) => e.body !== undefined)
  const requestBody = op.body && {
    required: op.bodyRequired ?? true,
    content: {
      [op.bodyContentType ?? 'application/json']: {
        schema: jsonSchema(op.body),
        examples:
          bodyExamples.length > 0
            ? Object.fromEntries(
                bodyExamples.map((e, i) => [`example${i + 1}`, { summary: e.summary, value: e.body }]),
              )
            : undefined,
      },
    },
  }
  const responses = Object.fromEntries(
    Object.entries(op.responses).map(([status, res]) => [
      status,
      {
        description: res.description,
        content: res.schema
          ? { [res.contentType ?? 'application/json']: { schema: jsonSchema(res.schema) } }
          : res.contentType
            ? { [res.contentType]: { schema: { type: 'string' } } }
            : undefined,
      },
    ]),
  )
  return {
    operationId: operationId(op),
    tags: [op.tag],
    summary: op.summary,
    description: op.description,
    security: op.security ? [{ [op.security]: [] }] : [],
    parameters: parameters.length > 0 ? parameters : undefined,
    requestBody,
    responses,
  }
}

/** An OpenAPI 3.1 document (schemas in JSON Schema 2020-12); `undefined` fields vanish when it is serialised. */
export const buildDocument = (surface: SurfaceSpec) => {
  const tags = [...new Set([...(surface.tags ?? []), ...surface.operations.map((op) => op.tag)])]
  const operations = surface.operations.toSorted((a, b) => tags.indexOf(a.tag) - tags.indexOf(b.tag))
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of operations) {
    const key = toOpenApiPath(op.path)
    paths[key] ??= {}
    paths[key][op.method] = buildOperation(op)
  }
  return JSON.parse(
    JSON.stringify({
      openapi: '3.1.0',
      jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
      info: { title: surface.title, version: surface.version, description: surface.description },
      tags: tags.map((name) => ({ name })),
      components: { securitySchemes: surface.securitySchemes },
      paths,
    }),
  ) as OpenApiDocument
}

export interface OpenApiDocument {
  openapi: string
  info: { title: string; version: string; description: string }
  paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>
  components: { securitySchemes: Record<string, JsonSchema> }
}
