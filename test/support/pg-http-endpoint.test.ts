import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import { Client as NeonClient, neon, neonConfig } from '@neondatabase/serverless'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type PgWsRelay, startPgWsRelay } from '../../scripts/lib/pg-ws-relay'
import { freePort } from '../../scripts/lib/stack/ports'
import {
  createTestDatabase,
  openSql,
  type PostgresServer,
  startPostgres,
  type TestDatabase,
} from './postgres'
import { expectedFidelity, fidelity, tableName } from './sql-fidelity'

const withAppName = (url: string, appName: string) => {
  const u = new URL(url)
  u.searchParams.set('application_name', appName)
  return u.toString()
}

describe('SQL-over-HTTP endpoint of the relay, through the Neon driver', () => {
  let pg: PostgresServer
  let db: TestDatabase
  let relay: PgWsRelay
  let restoreEndpoint: typeof neonConfig.fetchEndpoint

  beforeAll(async () => {
    pg = await startPostgres()
    db = await createTestDatabase(pg.url, 'http_endpoint')
    const target = new URL(db.url)
    relay = await startPgWsRelay({
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [db.name],
      sql: { maxConnections: 2, maxBodyBytes: 64 * 1024 },
    })
    restoreEndpoint = neonConfig.fetchEndpoint
    neonConfig.fetchEndpoint = () => relay.sqlUrl
  })
  afterAll(async () => {
    neonConfig.fetchEndpoint = restoreEndpoint
    await relay?.close()
    await db?.drop()
    await pg?.stop()
  })

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(relay.sqlUrl, {
      method: 'POST',
      headers: { 'neon-connection-string': db.url, 'neon-raw-text-output': 'true', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })

  it('returns int8, numeric, jsonb, timestamptz, uuid[], bytea, bool and null as the driver expects; errors, rollback and isolation as Postgres has them', async () => {
    const table = tableName()
    expect(await fidelity(neon(db.url), table)).toEqual(expectedFidelity(table))
  })

  it('answers in Neon’s wire shape: text values, field metadata, command and row count', async () => {
    const res = await post(
      { query: 'select $1::int8 as n, null::text as t, true as b', params: ['42'] },
      { 'neon-array-mode': 'true' },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = await res.json()
    expect(body).toEqual({
      fields: [
        {
          name: 'n',
          dataTypeID: 20,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 8,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 't',
          dataTypeID: 25,
          tableID: 0,
          columnID: 0,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 'b',
          dataTypeID: 16,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 1,
          dataTypeModifier: -1,
          format: 'text',
        },
      ],
      rows: [['42', null, 't']],
      command: 'SELECT',
      rowCount: 1,
      rowAsArray: true,
    })
  })

  it('gives rows as objects without the array-mode header, per query arrayMode in a batch, and JSON params as Neon converts them', async () => {
    const single = await (await post({ query: 'select 1 as a, 2 as b' })).json()
    expect(single).toMatchObject({ rows: [{ a: '1', b: '2' }], rowAsArray: false })
    const batch = (await (
      await post({
        queries: [
          {
            query: 'select $1::int[] as xs, $2::jsonb as j, $3::int as n',
            params: [[1, 2, null], { x: 'y' }, 7],
          },
          { query: 'select 3 as c', arrayMode: true },
        ],
      })
    ).json()) as { results: unknown[] }
    expect(batch.results[0]).toMatchObject({
      rows: [{ xs: '{1,2,NULL}', j: '{"x": "y"}', n: '7' }],
      rowAsArray: false,
    })
    expect(batch.results[1]).toMatchObject({
      rows: [['3']],
      rowAsArray: true,
      command: 'SELECT',
      rowCount: 1,
    })
  })

  it('without Neon-Raw-Text-Output turns bool, int2/4, float4/8, json/jsonb and their arrays into JSON values, as Neon does', async () => {
    const res = await post(
      {
        query: `select true as b, 7::int2 as s, 8 as i, 9::int8 as big, 1.5::float8 as f, 'NaN'::float8 as nan,
                       1.25::numeric as num, '{"a": [1]}'::jsonb as j, array[1, null, 3] as ints,
                       array[array[true], array[false]] as bools, array['{"x": 2}'::json, null] as docs,
                       array['a b', 'NULL', null, '"q"'] as texts, null::int as nothing`,
      },
      { 'neon-raw-text-output': 'false' },
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as { rows: unknown[] }
    expect(body.rows).toEqual([
      {
        b: true,
        s: 7,
        i: 8,
        big: '9',
        f: 1.5,
        nan: 'NaN',
        num: '1.25',
        j: { a: [1] },
        ints: [1, null, 3],
        bools: [[true], [false]],
        docs: [{ x: 2 }, null],
        texts: ['a b', 'NULL', null, '"q"'],
        nothing: null,
      },
    ])
  })

  it('runs one statement per query, as Neon does', async () => {
    const sql = neon(db.url)
    const err = await sql.query('select 1; select 2').catch((e) => e)
    expect(err).toMatchObject({ name: 'NeonDbError', code: '42601' })
  })

  it('does not hand a connection left inside a transaction to the next request', async () => {
    const sql = neon(db.url)
    await sql.query('begin')
    // inside one transaction txid_current() gives the same id twice; outside, a new one each time
    const xid = async () => (await sql.query('select txid_current()::text as x'))[0]?.x
    const first = await xid()
    expect(await xid()).not.toBe(first)
    const [open] = await sql.query(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%'`,
    )
    expect(open?.n).toBe(0)
  })

  it('refuses a database it was not started for, with a 403 the driver reports', async () => {
    const other = new URL(db.url)
    other.pathname = '/postgres'
    const err = await neon(other.toString())
      .query('select 1')
      .catch((e) => e)
    expect(err.name).toBe('NeonDbError')
    expect(err.message).toMatch(/HTTP status 403.*database_not_allowed/)
    const res = await post({ query: 'select 1' }, { 'neon-connection-string': other.toString() })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({
      error: {
        code: 'database_not_allowed',
        details: { field: 'Neon-Connection-String', database: 'postgres' },
      },
    })
  })

  it('answers for a database added later with allowDatabase', async () => {
    const extra = await createTestDatabase(pg.url, 'http_extra')
    try {
      const sql = neon(extra.url)
      await expect(sql.query('select 1 as one')).rejects.toThrow(/403/)
      relay.allowDatabase(extra.name)
      expect(await sql.query('select current_database() as db')).toEqual([{ db: extra.name }])
    } finally {
      await extra.drop()
    }
  })

  it('turns bad requests into 4xx JSON errors naming the field', async () => {
    const cases: Array<[Promise<Response>, number, string, unknown]> = [
      [post('{not json'), 400, 'invalid_body', { field: 'body' }],
      [post({ params: [] }), 400, 'invalid_body', { field: 'body.query' }],
      [post({ query: 'select 1', params: 'x' }), 400, 'invalid_body', { field: 'body.params' }],
      [post({ queries: [{ query: 1 }] }), 400, 'invalid_body', { field: 'queries[0].query' }],
      [post({ queries: {} }), 400, 'invalid_body', { field: 'queries' }],
      [
        post({ queries: [] }, { 'neon-batch-isolation-level': 'Chaos' }),
        400,
        'invalid_isolation_level',
        {
          field: 'Neon-Batch-Isolation-Level',
          allowed: ['Serializable', 'RepeatableRead', 'ReadCommitted', 'ReadUncommitted'],
        },
      ],
      [
        post({ query: 'select 1' }, { 'neon-connection-string': '' }),
        400,
        'invalid_connection_string',
        { field: 'Neon-Connection-String' },
      ],
      [
        post({ query: 'select 1' }, { 'neon-connection-string': 'mysql://u@h/db' }),
        400,
        'invalid_connection_string',
        { field: 'Neon-Connection-String' },
      ],
      [post({ query: 'x'.repeat(70 * 1024) }), 413, 'payload_too_large', { limit: 64 * 1024 }],
      [fetch(relay.sqlUrl), 405, 'method_not_allowed', null],
      [fetch(`http://127.0.0.1:${relay.port}/stats`), 400, 'invalid_query', { field: 'key' }],
      [fetch(`http://127.0.0.1:${relay.port}/nope`), 404, 'not_found', null],
      [post({ query: 'select 1' }, { origin: 'https://evil.example' }), 403, 'forbidden', null],
    ]
    for (const [pending, status, code, details] of cases) {
      const res = await pending
      const body = (await res.json()) as { message: string; error: Record<string, unknown> }
      expect({ status: res.status, code: body.error?.code, details: body.error?.details }).toEqual({
        status,
        code,
        details,
      })
      expect(body.error.request_id).toEqual(expect.any(String))
      expect(body.message).toBe(body.error.message)
    }
  })

  it('answers 400 to a request target that is not a URL, and keeps serving', async () => {
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(relay.port, '127.0.0.1', () =>
        socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'),
      )
      socket.once('data', (data) => {
        resolve(String(data).split('\r\n')[0] as string)
        socket.destroy()
      })
      socket.once('error', reject)
    })
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(await neon(db.url).query('select 1 as one')).toEqual([{ one: 1 }])
  })

  it('counts /sql calls and WebSocket connections per application_name on GET /stats', async () => {
    const key = `rt-${randomUUID()}`
    const url = withAppName(db.url, key)
    const sql = neon(url)
    await sql.query('select 1')
    await sql.transaction([sql.query('select 1'), sql.query('select 2')])
    await sql.query('select 1/0').catch(() => {})

    neonConfig.webSocketConstructor = WebSocket
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${relay.port}/v2?address=${host}:${port}`
    neonConfig.useSecureWebSocket = false
    neonConfig.pipelineTLS = false
    neonConfig.pipelineConnect = false
    const client = new NeonClient({ connectionString: url })
    await client.connect()
    await client.end()

    const res = await fetch(`http://127.0.0.1:${relay.port}/stats?key=${encodeURIComponent(key)}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sql_calls: 3, ws_connections: 1 })
    expect(relay.stats(key)).toEqual({ sql_calls: 3, ws_connections: 1 })
    expect(relay.stats('never-used')).toEqual({ sql_calls: 0, ws_connections: 0 })
  })

  /** Backends the endpoint's pools hold on the test database. */
  const endpointBackends = async () => {
    const admin = openSql(db.url, { max: 1 })
    try {
      const [row] = await admin<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
         where application_name = 'pg-http-endpoint' and datname = ${db.name}`
      return row?.n ?? 0
    } finally {
      await admin.end()
    }
  }

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 10_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  it('runs concurrent requests over at most maxConnections Postgres connections', async () => {
    const sql = neon(db.url)
    let peak = 0
    const sleeping = Promise.all(Array.from({ length: 6 }, () => sql.query('select pg_sleep(0.3) as s')))
    const watching = (async () => {
      for (let i = 0; i < 10; i++) {
        peak = Math.max(peak, await endpointBackends())
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    expect(await sleeping).toEqual(Array.from({ length: 6 }, () => [{ s: '' }]))
    await watching
    expect(peak).toBe(2)
  })

  it('closes idle connections, and close() ends every connection and frees the port', async () => {
    const target = new URL(db.url)
    const options = {
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [db.name],
      sql: { idleTimeoutMs: 200 },
    }
    const own = await startPgWsRelay(options)
    const before = await endpointBackends()
    neonConfig.fetchEndpoint = () => own.sqlUrl
    try {
      await neon(db.url).query('select 1')
      await waitFor(async () => (await endpointBackends()) === before, 'the idle connection to close')

      const again = await startPgWsRelay({ ...options, port: own.port, sql: {} }).catch((e) => e)
      expect(again).toBeInstanceOf(Error)
      await neon(db.url).query('select 1')
      expect(await endpointBackends()).toBe(before + 1)
      await own.close()
      await waitFor(async () => (await endpointBackends()) === before, 'close() to end the pooled connection')
      const reopened = await startPgWsRelay({ ...options, port: own.port })
      try {
        expect(await neon(db.url).query('select 2 as two')).toEqual([{ two: 2 }])
      } finally {
        await reopened.close()
      }
    } finally {
      neonConfig.fetchEndpoint = () => relay.sqlUrl
      await own.close().catch(() => {})
    }
  })

  it('refuses to listen anywhere but loopback', async () => {
    const options = { pgHost: '127.0.0.1', pgPort: 5432, databases: ['x'] }
    await expect(startPgWsRelay({ ...options, host: '0.0.0.0' })).rejects.toThrow(/loopback/)
    await expect(startPgWsRelay({ ...options, host: '192.168.1.10' })).rejects.toThrow(/loopback/)
  })

  it('answers 503 database_unavailable when Postgres is unreachable, which the driver raises as a NeonDbError', async () => {
    const deadPort = await freePort()
    const down = await startPgWsRelay({
      pgHost: '127.0.0.1',
      pgPort: deadPort,
      databases: [db.name],
      sql: { connectTimeoutMs: 1_000 },
    })
    try {
      const res = await fetch(down.sqlUrl, {
        method: 'POST',
        headers: { 'neon-connection-string': db.url },
        body: JSON.stringify({ query: 'select 1' }),
      })
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: { code: 'database_unavailable' } })
      neonConfig.fetchEndpoint = () => down.sqlUrl
      const err = await neon(db.url)
        .query('select 1')
        .catch((e) => e)
      expect(err.name).toBe('NeonDbError')
      expect(err.code).toBeUndefined()
      expect(err.message).toMatch(/^Server error \(HTTP status 503\): .*database_unavailable/)
    } finally {
      neonConfig.fetchEndpoint = () => relay.sqlUrl
      await down.close()
    }
    // and with the endpoint itself gone, fetch fails: also a NeonDbError, with the cause attached
    neonConfig.fetchEndpoint = () => `http://127.0.0.1:${deadPort}/sql`
    const gone = await neon(db.url)
      .query('select 1')
      .catch((e) => e)
    neonConfig.fetchEndpoint = () => relay.sqlUrl
    expect(gone.name).toBe('NeonDbError')
    expect(gone.message).toMatch(/^Error connecting to database: /)
    expect(gone.sourceError).toBeInstanceOf(Error)
  })
})

const NEON_URL = process.env.NEON_DATABASE_URL
if (!NEON_URL) console.log('pg-http-endpoint: real Neon comparison skipped: NEON_DATABASE_URL is not set')

describe('the same fidelity queries against real Neon', () => {
  it.skipIf(!NEON_URL)(
    `give the results the local endpoint gives${NEON_URL ? '' : ' (skipped: NEON_DATABASE_URL is not set)'}`,
    async () => {
      const table = tableName()
      expect(await fidelity(neon(NEON_URL as string), table)).toEqual(expectedFidelity(table))
    },
  )
})
