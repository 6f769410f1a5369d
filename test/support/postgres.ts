import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres, { type Sql } from 'postgres'
import { applyMigrations } from '../../functions/db/migrate'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { findPgBinDir, runAs } from '../../scripts/lib/stack/postgres'

export interface PostgresServer {
  /** Connection URL of the server's `postgres` database. */
  url: string
  stop(): Promise<void>
}

export interface TestDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

/** A postgres.js client with test-friendly defaults (notices silenced, small pool). */
export const openSql = (url: string, options: postgres.Options<Record<string, never>> = {}): Sql =>
  postgres(url, { max: 4, onnotice: () => {}, connect_timeout: 10, ...options })

/** Runs a Postgres tool; as root, as the `postgres` system user (initdb refuses root). */
const runPgTool = (bin: string, args: string[], dir: string) => {
  const result = spawnSync(bin, args, { encoding: 'utf8', cwd: dir, timeout: 120_000, ...runAs() })
  if (result.status !== 0) {
    throw new Error(
      `${bin} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})\n${result.stdout}\n${result.stderr}`,
    )
  }
}

const startPrivatePostgres = async (): Promise<PostgresServer> => {
  const bin = findPgBinDir()
  const initdb = join(bin, 'initdb')
  const pgCtl = join(bin, 'pg_ctl')
  const port = await getFreePort()
  const dir = await mkdtemp(join(tmpdir(), 'pg-test-'))
  const data = join(dir, 'data')
  const { uid, gid } = runAs()
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid)
  try {
    runPgTool(
      initdb,
      [
        '-D',
        data,
        '-U',
        'postgres',
        '--auth=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      dir,
    )
    const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`
    runPgTool(
      pgCtl,
      ['-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start'],
      dir,
    )
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let stopped = false
  const stopSync = () => {
    if (stopped) return
    stopped = true
    runPgTool(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], dir)
  }
  process.once('exit', stopSync)
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      process.removeListener('exit', stopSync)
      stopSync()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * `TEST_DATABASE_URL` or `DATABASE_URL` when set (tests create their own databases on that server),
 * otherwise a private throw-away server on a free port.
 */
export const startPostgres = async (): Promise<PostgresServer> => {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
  if (url) return { url, stop: async () => {} }
  return startPrivatePostgres()
}

const withDatabase = (serverUrl: string, name: string) => {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Creates a uniquely named database on the server and applies the app's migrations to it. */
export const createTestDatabase = async (serverUrl: string, prefix = 'test'): Promise<TestDatabase> => {
  const safePrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30)
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = openSql(serverUrl, { max: 1 })
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = withDatabase(serverUrl, name)
  const sql = openSql(url, { max: 1 })
  try {
    await applyMigrations(sql)
  } finally {
    await sql.end()
  }
  return {
    url,
    name,
    drop: async () => {
      const admin = openSql(serverUrl, { max: 1 })
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
}
