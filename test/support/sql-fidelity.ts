import type { NeonQueryFunction } from '@neondatabase/serverless'

// The fidelity queries of the SQL-over-HTTP endpoint, run through the Neon driver from Node
// (test/support/pg-http-endpoint.test.ts), from workerd (test/functions/sql-over-http.test.ts) and
// against real Neon: each returns the same normalised results.

/** What the fidelity queries return, normalised so local and real Neon results compare equal. */
/** bytea comes back as the driver's Buffer (a Uint8Array): compared as its bytes. */
const bytes = (value: unknown) => (value instanceof Uint8Array ? { bytea: [...value] } : value)

export const fidelity = async (sql: NeonQueryFunction<false, false>, table: string) => {
  const [typed] = await sql.query(
    `select 9007199254740993::int8 as big, 12345.678901234567890::numeric as num,
            '{"a": [1, "two", null], "b": {"c": true}}'::jsonb as doc,
            '2024-02-29 23:59:58.123456+00'::timestamptz as at,
            array['8b1f0c5e-7d2a-4c1e-9f3b-2a6d5e4c3b21', null]::uuid[] as ids,
            '\\x00ff10'::bytea as bin, true as yes, false as no, null::text as nothing`,
  )
  const [echoed] = await sql.query(
    'select $1::int8 as big, $2::numeric as num, $3::jsonb as doc, $4::timestamptz as at, $5::uuid[] as ids, $6::bytea as bin, $7::bool as yes, $8::text as nothing',
    [
      '9007199254740993',
      '0.1',
      { k: ['v', 1] },
      new Date('2024-01-02T03:04:05.678Z'),
      ['8b1f0c5e-7d2a-4c1e-9f3b-2a6d5e4c3b21'],
      new Uint8Array([1, 2, 255]),
      true,
      null,
    ],
  )
  await sql.query(`create table ${table} (k text constraint ${table}_k_key unique)`)
  await sql.query(`insert into ${table} (k) values ('taken')`)
  const unique = await sql.query(`insert into ${table} (k) values ('taken')`).catch((err) => err)
  const batch = await sql
    .transaction([
      sql.query(`insert into ${table} (k) values ('from batch')`),
      sql.query(`insert into ${table} (k) values ('taken')`),
    ])
    .catch((err) => err)
  const kept = await sql.query(`select k from ${table} order by k`)
  const [isolation, readOnly, deferrable] = await sql.transaction(
    [
      sql.query('show transaction_isolation'),
      sql.query('show transaction_read_only'),
      sql.query('show transaction_deferrable'),
    ],
    { isolationLevel: 'Serializable', readOnly: true, deferrable: true },
  )
  const [readCommitted] = await sql.transaction([sql.query('show transaction_isolation')], {
    isolationLevel: 'ReadCommitted',
  })
  const asArrays = await sql.query('select 1 as a, 2 as b', [], { arrayMode: true })
  const full = await sql.query(`update ${table} set k = k where k = 'taken'`, [], { fullResults: true })
  await sql.query(`drop table ${table}`)
  return {
    typed: { ...typed, bin: bytes(typed?.bin) },
    echoed: { ...echoed, bin: bytes(echoed?.bin) },
    unique: { name: unique.name, code: unique.code, constraint: unique.constraint, table: unique.table },
    batch: { name: batch.name, code: batch.code, constraint: batch.constraint },
    kept,
    isolation,
    readOnly,
    deferrable,
    readCommitted,
    asArrays,
    full: { command: full.command, rowCount: full.rowCount, rows: full.rows, fields: full.fields.length },
  }
}

export const expectedFidelity = (table: string) => ({
  typed: {
    big: '9007199254740993',
    num: '12345.678901234567890',
    doc: { a: [1, 'two', null], b: { c: true } },
    at: new Date('2024-02-29T23:59:58.123Z'),
    ids: ['8b1f0c5e-7d2a-4c1e-9f3b-2a6d5e4c3b21', null],
    bin: { bytea: [0x00, 0xff, 0x10] },
    yes: true,
    no: false,
    nothing: null,
  },
  echoed: {
    big: '9007199254740993',
    num: '0.1',
    doc: { k: ['v', 1] },
    at: new Date('2024-01-02T03:04:05.678Z'),
    ids: ['8b1f0c5e-7d2a-4c1e-9f3b-2a6d5e4c3b21'],
    bin: { bytea: [1, 2, 255] },
    yes: true,
    nothing: null,
  },
  unique: { name: 'NeonDbError', code: '23505', constraint: `${table}_k_key`, table },
  batch: { name: 'NeonDbError', code: '23505', constraint: `${table}_k_key` },
  kept: [{ k: 'taken' }],
  isolation: [{ transaction_isolation: 'serializable' }],
  readOnly: [{ transaction_read_only: 'on' }],
  deferrable: [{ transaction_deferrable: 'on' }],
  readCommitted: [{ transaction_isolation: 'read committed' }],
  asArrays: [[1, 2]],
  full: { command: 'UPDATE', rowCount: 1, rows: [], fields: 0 },
})

export const tableName = () => `http_fidelity_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`
