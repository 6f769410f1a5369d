import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Sql, TransactionSql } from 'postgres'

// Node-only (tests, `npm run db:migrate`, `npm start`): never import this from the Worker.

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/

export interface Migration {
  name: string
  sql: string
  checksum: string
}

export const loadMigrations = async (dir = MIGRATIONS_DIR): Promise<Migration[]> => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()
  const seen = new Set<string>()
  const migrations: Migration[] = []
  for (const name of files) {
    const match = FILE_NAME.exec(name)
    if (!match) throw new Error(`migration file name must look like 0001_name.sql: ${name}`)
    const number = match[1]!
    if (seen.has(number)) throw new Error(`two migrations share the number ${number}`)
    seen.add(number)
    const sql = await readFile(`${dir}/${name}`, 'utf8')
    migrations.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') })
  }
  return migrations
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction.
 * A transaction-scoped advisory lock serialises concurrent runners; the applied set is re-read
 * under the lock, so running this twice (or twice at once) is harmless.
 * Returns the names applied by this call.
 */
export const applyMigrations = async (sql: Sql, options: { dir?: string } = {}): Promise<string[]> => {
  const migrations = await loadMigrations(options.dir)
  const lock = (tx: TransactionSql) => tx`select pg_advisory_xact_lock(hashtext('library.schema_migrations'))`
  await sql.begin(async (tx) => {
    await lock(tx)
    await tx`
      create table if not exists schema_migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`
  })
  const applied: string[] = []
  for (const migration of migrations) {
    const done = await sql.begin(async (tx) => {
      await lock(tx)
      const [row] = await tx`select 1 from schema_migrations where name = ${migration.name}`
      if (row) return false
      await tx.unsafe(migration.sql)
      await tx`insert into schema_migrations (name, checksum) values (${migration.name}, ${migration.checksum})`
      return true
    })
    if (done) applied.push(migration.name)
  }
  return applied
}
