import type { IncomingMessage, ServerResponse } from 'node:http'
import pg from 'pg'

/**
 * Neon's SQL-over-HTTP protocol (what `neon()` from `@neondatabase/serverless` sends to
 * `neonConfig.fetchEndpoint`), served from a small pool of TCP connections to one local Postgres.
 * Mounted by the relay in `pg-ws-relay.ts` as `POST /sql`; the reference is Neon's proxy
 * (`proxy/src/serverless/sql_over_http.rs`).
 *
 * Request:
 *   headers  Neon-Connection-String: postgres://user[:password]@<any host>/<database>[?application_name=…]
 *            Neon-Array-Mode: true          rows as arrays (else objects keyed by column name)
 *            Neon-Raw-Text-Output: true     values as Postgres text (what the driver asks for); without
 *                                           it bool, int2/4, float4/8 and json/jsonb (and arrays of
 *                                           them) become JSON values, the rest stays text, as Neon does
 *            Neon-Batch-Isolation-Level: Serializable | RepeatableRead | ReadCommitted | ReadUncommitted
 *            Neon-Batch-Read-Only: true, Neon-Batch-Deferrable: true   (batches only)
 *   body     {"query": "…", "params": [...], "arrayMode"?: bool}
 *            or {"queries": [{query, params, arrayMode?}, …]}: one transaction, rolled back on error
 * Reply 200: {"fields": [{name, dataTypeID, tableID, columnID, dataTypeSize, dataTypeModifier,
 *            format: "text"}], "rows": [...], "command": "SELECT", "rowCount": 1, "rowAsArray": true}
 *            or {"results": [<one such object per query>]}
 * Errors:    400 a Postgres error: {message, severity, code, detail, hint, position, where, schema,
 *            table, column, dataType, constraint, file, line, routine, …} (the driver's NeonDbError)
 *            4xx a refused request: {message, error: {code, message, request_id, details}}
 *            503 Postgres unreachable: same shape, code `database_unavailable`
 *
 * The host in the connection string is ignored (the relay ignores the WebSocket `address` the same
 * way): every query goes to the Postgres this endpoint was started for, and only to the databases
 * it was told to answer for. User and password are handed to Postgres, which authenticates them.
 */

export interface SqlOverHttpOptions {
  pgHost: string
  pgPort: number
  /** Databases `/sql` answers for; anything else is refused with 403. */
  databases: readonly string[]
  /** TCP connections per (user, database) pool. Default 8. */
  maxConnections?: number
  /** Distinct (user, password, database) pools kept at once. Default 8. */
  maxPools?: number
  /** An idle pooled connection is closed after this long. Default 10 s. */
  idleTimeoutMs?: number
  /** Waiting for a connection (to Postgres or from a full pool) fails after this long. Default 5 s. */
  connectTimeoutMs?: number
  /** Request bodies above this are refused with 413. Default 10 MiB (Neon's limit). */
  maxBodyBytes?: number
  /** Replies above this are refused with 507. Default 10 MiB (Neon's limit). */
  maxResponseBytes?: number
}

export interface SqlOverHttp {
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void>
  /** Also answer for this database from now on. */
  allowDatabase(name: string): void
  /** Ends every pooled connection. */
  close(): Promise<void>
}

/** What a refused request or an unreachable Postgres answers; `message` is what the driver shows. */
export class EndpointError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

export const endpointErrorBody = (err: EndpointError, requestId: string) => ({
  message: err.message,
  error: { code: err.code, message: err.message, request_id: requestId, details: err.details ?? null },
})

const ISOLATION_LEVELS: Record<string, string> = {
  Serializable: 'serializable',
  RepeatableRead: 'repeatable read',
  ReadCommitted: 'read committed',
  ReadUncommitted: 'read uncommitted',
}

const PG_ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const

/** Every value stays the text Postgres sent. */
const RAW_TEXT_TYPES = { getTypeParser: () => (value: string) => value }

/** Without Neon-Raw-Text-Output: Neon's pg_text_to_json for one text value of a scalar type. */
const scalarToJson = (text: string, typeId: number): unknown => {
  switch (typeId) {
    case 16: // bool
      return text === 't'
    case 21: // int2
    case 23: // int4
      return Number(text)
    case 700: // float4
    case 701: {
      // float8: NaN and ±Infinity stay strings
      const n = Number(text)
      return Number.isFinite(n) ? n : text
    }
    case 114: // json
    case 3802: // jsonb
      return JSON.parse(text)
    default:
      return text
  }
}

/** Built-in array types and their element types (their OIDs are fixed in the catalog). */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: 16,
  1005: 21,
  1007: 23,
  1021: 700,
  1022: 701,
  199: 114,
  3807: 3802,
  ...Object.fromEntries(
    [
      1009, 1015, 1014, 1002, 1003, 2951, 1016, 1231, 1182, 1183, 1270, 1115, 1185, 1187, 1001, 1028, 1041,
      651, 1040,
    ].map((oid) => [oid, 25]),
  ),
}

/** Splits an array literal into (nested) element texts and nulls. */
const parseArrayText = (pg.types.getTypeParser as (oid: number) => (text: string) => unknown)(1009)

const mapNested = (value: unknown, fn: (text: string) => unknown): unknown =>
  Array.isArray(value) ? value.map((v) => mapNested(v, fn)) : value === null ? null : fn(value as string)

const toJsonValue = (text: string | null, typeId: number): unknown => {
  if (text === null) return null
  const element = ARRAY_ELEMENT[typeId]
  if (element === undefined) return scalarToJson(text, typeId)
  return mapNested(parseArrayText(text), (item) => scalarToJson(item, element))
}

interface Statement {
  query: string
  params: Array<string | null>
  arrayMode?: boolean
}

export interface ParsedConnection {
  user: string
  password: string | undefined
  database: string
  /** `application_name` query parameter, the key `/stats` counts by. */
  applicationName: string | undefined
}

export const parseConnectionString = (value: string | undefined): ParsedConnection => {
  if (!value) {
    throw new EndpointError(400, 'invalid_connection_string', 'Neon-Connection-String header is required', {
      field: 'Neon-Connection-String',
    })
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new EndpointError(400, 'invalid_connection_string', 'Neon-Connection-String is not a URL', {
      field: 'Neon-Connection-String',
    })
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const user = decodeURIComponent(url.username)
  if ((url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !user || !database) {
    throw new EndpointError(
      400,
      'invalid_connection_string',
      'Neon-Connection-String must be postgres://user@host/database',
      { field: 'Neon-Connection-String' },
    )
  }
  return {
    user,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    applicationName: url.searchParams.get('application_name') ?? undefined,
  }
}

/** The key `/stats` counts a connection string under, without parsing errors. */
export const statsKeyOf = (connectionString: string | undefined): string | undefined => {
  try {
    return parseConnectionString(connectionString).applicationName
  } catch {
    return undefined
  }
}

/** Element of a Postgres array literal, as in Neon's json_array_to_pg_array. */
const toPgArrayElement = (value: unknown): string => {
  if (value === null) return 'NULL'
  if (Array.isArray(value)) return `{${value.map(toPgArrayElement).join(',')}}`
  if (typeof value === 'object') return JSON.stringify(JSON.stringify(value))
  return JSON.stringify(value)
}

/** A JSON parameter as the text Postgres gets, as in Neon's json_to_pg_text. */
const toPgParam = (value: unknown): string | null => {
  if (value === null) return null
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return `{${value.map(toPgArrayElement).join(',')}}`
  return JSON.stringify(value)
}

const parseStatement = (value: unknown, where: string): Statement => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EndpointError(400, 'invalid_body', `${where} must be an object with a query`, { field: where })
  }
  const { query, params, arrayMode } = value as Record<string, unknown>
  if (typeof query !== 'string') {
    throw new EndpointError(400, 'invalid_body', `${where}.query must be a string`, {
      field: `${where}.query`,
    })
  }
  if (params !== undefined && !Array.isArray(params)) {
    throw new EndpointError(400, 'invalid_body', `${where}.params must be an array`, {
      field: `${where}.params`,
    })
  }
  if (arrayMode !== undefined && typeof arrayMode !== 'boolean') {
    throw new EndpointError(400, 'invalid_body', `${where}.arrayMode must be a boolean`, {
      field: `${where}.arrayMode`,
    })
  }
  return { query, params: (params ?? []).map(toPgParam), arrayMode }
}

export type Payload = { single: Statement } | { batch: Statement[] }

export const parsePayload = (body: Buffer): Payload => {
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    throw new EndpointError(400, 'invalid_body', 'body is not JSON', { field: 'body' })
  }
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'queries' in json) {
    const { queries } = json as { queries: unknown }
    if (!Array.isArray(queries)) {
      throw new EndpointError(400, 'invalid_body', 'queries must be an array', { field: 'queries' })
    }
    return { batch: queries.map((q, i) => parseStatement(q, `queries[${i}]`)) }
  }
  return { single: parseStatement(json, 'body') }
}

const readBody = (req: IncomingMessage, limit: number) =>
  new Promise<Buffer>((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) {
      reject(new EndpointError(413, 'payload_too_large', `body exceeds ${limit} bytes`, { limit }))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        // the rest is not read: the 413 goes out with `connection: close`
        req.off('data', onData)
        req.pause()
        reject(new EndpointError(413, 'payload_too_large', `body exceeds ${limit} bytes`, { limit }))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })

const isDatabaseError = (err: unknown): err is pg.DatabaseError => err instanceof pg.DatabaseError

const postgresErrorBody = (err: pg.DatabaseError) => {
  const body: Record<string, unknown> = { message: err.message }
  for (const field of PG_ERROR_FIELDS) {
    const value = err[field]
    if (value !== undefined) body[field] = value
  }
  return body
}

const unavailable = (err: unknown) =>
  new EndpointError(
    503,
    'database_unavailable',
    `Postgres is unreachable: ${err instanceof Error ? err.message : String(err)}`,
  )

const runStatement = async (
  client: pg.PoolClient,
  statement: Statement,
  defaultArrayMode: boolean,
  rawText: boolean,
) => {
  const result = await client.query({
    text: statement.query,
    values: statement.params,
    rowMode: 'array',
    types: RAW_TEXT_TYPES,
    // one statement per query, as in Neon's proxy (the simple protocol would run several)
    queryMode: 'extended',
  } as pg.QueryArrayConfig)
  const arrayMode = statement.arrayMode ?? defaultArrayMode
  const names = result.fields.map((f) => f.name)
  const types = result.fields.map((f) => f.dataTypeID)
  const rows = rawText
    ? (result.rows as Array<Array<string | null>>)
    : (result.rows as Array<Array<string | null>>).map((row) =>
        row.map((v, i) => toJsonValue(v, types[i] as number)),
      )
  return {
    fields: result.fields.map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: 'text',
    })),
    rows: arrayMode ? rows : rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]]))),
    command: result.command,
    rowCount: result.rowCount,
    rowAsArray: arrayMode,
  }
}

export const createSqlOverHttp = (options: SqlOverHttpOptions): SqlOverHttp => {
  const databases = new Set(options.databases)
  const maxConnections = options.maxConnections ?? 8
  const maxPools = options.maxPools ?? 8
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024
  const maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024
  /** Insertion order is use order: the first entry is the least recently used pool. */
  const pools = new Map<string, pg.Pool>()
  let closed = false

  const poolFor = (conn: ParsedConnection) => {
    const key = JSON.stringify([conn.user, conn.password ?? null, conn.database])
    let pool = pools.get(key)
    if (pool) {
      pools.delete(key)
      pools.set(key, pool)
      return pool
    }
    if (pools.size >= maxPools) {
      const [oldestKey, oldest] = pools.entries().next().value as [string, pg.Pool]
      pools.delete(oldestKey)
      // in-flight queries finish; their connections close when released
      void oldest.end().catch(() => {})
    }
    pool = new pg.Pool({
      host: options.pgHost.replace(/^\[|\]$/g, ''),
      port: options.pgPort,
      user: conn.user,
      password: conn.password,
      database: conn.database,
      max: maxConnections,
      idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      application_name: 'pg-http-endpoint',
    })
    // an idle connection whose server went away must not crash the process
    pool.on('error', () => {})
    pools.set(key, pool)
    return pool
  }

  const execute = async (conn: ParsedConnection, payload: Payload, headers: IncomingMessage['headers']) => {
    const arrayMode = headers['neon-array-mode'] === 'true'
    const rawText = headers['neon-raw-text-output'] === 'true'
    const isolationHeader = headers['neon-batch-isolation-level']
    const isolation = isolationHeader === undefined ? undefined : ISOLATION_LEVELS[String(isolationHeader)]
    if (isolationHeader !== undefined && isolation === undefined) {
      throw new EndpointError(400, 'invalid_isolation_level', 'invalid isolation level', {
        field: 'Neon-Batch-Isolation-Level',
        allowed: Object.keys(ISOLATION_LEVELS),
      })
    }
    let client: pg.PoolClient
    try {
      client = await poolFor(conn).connect()
    } catch (err) {
      if (isDatabaseError(err)) throw err
      throw unavailable(err)
    }
    let broken: Error | undefined
    // the server going away between two statements (a Postgres killed mid-transaction) is thrown by
    // no query: without a listener it would be an uncaught 'error' event that ends the process
    const onConnectionError = (err: Error) => {
      broken = err
    }
    client.on('error', onConnectionError)
    try {
      if ('single' in payload) return await runStatement(client, payload.single, arrayMode, rawText)
      const modes = [
        isolation && `isolation level ${isolation}`,
        headers['neon-batch-read-only'] === 'true' && 'read only',
        headers['neon-batch-deferrable'] === 'true' && 'deferrable',
      ].filter(Boolean)
      await client.query(`start transaction ${modes.join(', ')}`)
      try {
        const results = []
        for (const statement of payload.batch)
          results.push(await runStatement(client, statement, arrayMode, rawText))
        await client.query('commit')
        return { results }
      } catch (err) {
        await client.query('rollback').catch((rollbackErr: Error) => {
          broken = rollbackErr
        })
        throw err
      }
    } catch (err) {
      if (!isDatabaseError(err)) {
        broken = err instanceof Error ? err : new Error(String(err))
        throw unavailable(err)
      }
      throw err
    } finally {
      client.off('error', onConnectionError)
      // a connection left inside a transaction (a lone `begin`) is not handed to the next request
      client.release(broken ?? (client.getTransactionStatus() !== 'I' ? true : undefined))
    }
  }

  return {
    allowDatabase: (name) => {
      databases.add(name)
    },
    handle: async (req, res, requestId) => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body)
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'x-request-id': requestId,
          ...(req.complete ? {} : { connection: 'close' }),
        })
        res.end(text)
      }
      try {
        if (closed) throw new EndpointError(503, 'database_unavailable', 'the endpoint is closing')
        const conn = parseConnectionString(req.headers['neon-connection-string'] as string | undefined)
        if (!databases.has(conn.database)) {
          throw new EndpointError(
            403,
            'database_not_allowed',
            `database "${conn.database}" is not served here`,
            {
              field: 'Neon-Connection-String',
              database: conn.database,
            },
          )
        }
        const payload = parsePayload(await readBody(req, maxBodyBytes))
        const result = await execute(conn, payload, req.headers)
        const text = JSON.stringify(result)
        if (Buffer.byteLength(text) > maxResponseBytes) {
          throw new EndpointError(
            507,
            'response_too_large',
            `response is too large (max is ${maxResponseBytes} bytes)`,
          )
        }
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'x-request-id': requestId,
        })
        res.end(text)
      } catch (err) {
        if (res.headersSent) return
        if (err instanceof EndpointError) send(err.status, endpointErrorBody(err, requestId))
        else if (isDatabaseError(err)) send(400, postgresErrorBody(err))
        else send(503, endpointErrorBody(unavailable(err), requestId))
      }
    },
    close: async () => {
      closed = true
      const all = [...pools.values()]
      pools.clear()
      await Promise.all(all.map((pool) => pool.end().catch(() => {})))
    },
  }
}
