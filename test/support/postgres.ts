import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, readdirSync, readFileSync } from 'node:fs'
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
  /** Private servers only: SIGKILL to the postmaster and every backend, mid-whatever. */
  kill?(): Promise<void>
  /** Private servers only: starts again on the same port and data directory (crash recovery). */
  restart?(): Promise<void>
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
  const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`
  const startServer = () =>
    runPgTool(
      pgCtl,
      ['-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start'],
      dir,
    )
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
    startServer()
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
    kill: async () => {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      const pids = [pid, ...childPids(pid)]
      for (const p of pids) signal(p, 'SIGKILL')
      const deadline = Date.now() + 15_000
      while (pids.some(alive)) {
        if (Date.now() > deadline) throw new Error(`postgres ${pid} did not die`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    restart: async () => startServer(),
  }
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Direct children of `pid`, from /proc. */
const childPids = (pid: number): number[] =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        return ppid === pid ? [Number(name)] : []
      } catch {
        return []
      }
    })

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
