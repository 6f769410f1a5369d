import postgres from 'postgres'
import { applyMigrations } from '../functions/db/migrate'

const url = process.env.DATABASE_URL
if (!url) {
  console.error('DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres)')
  process.exit(2)
}

const sql = postgres(url, { max: 1, onnotice: () => {} })
try {
  const applied = await applyMigrations(sql)
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
} catch (err) {
  console.error('migration failed:', err instanceof Error ? err.message : err)
  process.exitCode = 1
} finally {
  await sql.end()
}
