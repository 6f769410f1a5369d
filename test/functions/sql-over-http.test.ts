import { env } from 'cloudflare:test'
import { neon, neonConfig } from '@neondatabase/serverless'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectedFidelity, fidelity, tableName } from '../support/sql-fidelity'

type Bindings = { DATABASE_URL: string; PG_WS_PROXY: string }
const bindings = env as unknown as Bindings

// The local SQL-over-HTTP endpoint (POST /sql on the relay's port, the one in PG_WS_PROXY) driven by
// the Neon driver from inside workerd, with workerd's own fetch, as the functions use it.
describe('SQL over HTTP from workerd', () => {
  beforeAll(() => {
    neonConfig.fetchEndpoint = () => `http://${bindings.PG_WS_PROXY}/sql`
  })

  it('returns int8, numeric, jsonb, timestamptz, uuid[], bytea, bool and null as the driver expects; errors, rollback and isolation as Postgres has them', async () => {
    const table = tableName()
    expect(await fidelity(neon(bindings.DATABASE_URL), table)).toEqual(expectedFidelity(table))
  })

  it('gives rows as arrays in array mode and as objects otherwise', async () => {
    const sql = neon(bindings.DATABASE_URL)
    expect(await sql.query('select 1 as a, $1::text as b', ['x'], { arrayMode: true })).toEqual([[1, 'x']])
    expect(await sql.query('select 1 as a, $1::text as b', ['x'])).toEqual([{ a: 1, b: 'x' }])
  })

  it('refuses a database the endpoint was not started for', async () => {
    const other = new URL(bindings.DATABASE_URL)
    other.pathname = '/postgres'
    const err = await neon(other.toString())
      .query('select 1')
      .catch((e: unknown) => e)
    expect(err).toMatchObject({
      name: 'NeonDbError',
      message: expect.stringMatching(/HTTP status 403.*database_not_allowed/),
    })
  })

  it('counts the calls of one application_name', async () => {
    const key = `rt-${crypto.randomUUID()}`
    const url = new URL(bindings.DATABASE_URL)
    url.searchParams.set('application_name', key)
    const sql = neon(url.toString())
    await sql.query('select 1')
    await sql.transaction([sql.query('select 1'), sql.query('select 2')])
    const res = await fetch(`http://${bindings.PG_WS_PROXY}/stats?key=${encodeURIComponent(key)}`)
    expect(await res.json()).toEqual({ sql_calls: 2, ws_connections: 0 })
  })
})
