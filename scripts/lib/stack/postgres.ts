import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import postgres from 'postgres'
import { launch, type ManagedProcess } from './managed-process'
import { preferredOrFreePort, waitForPort } from './ports'

/**
 * The embedded default database: Debian's (or any) Postgres server binaries, a cluster under
 * `.data/postgres`, listening on loopback TCP only with trust auth. Initdb and the server refuse to
 * run as root, so as root they run as the `postgres` system user, which owns the data directory.
 */

export const DATABASE_NAME = 'library'
const USER = 'postgres'
const INSTALL_HINT = 'apt-get install -y postgresql'

const hasServerBinaries = (dir: string) =>
  existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))

export const findPgBinDir = (): string => {
  const configured = process.env.PG_BIN_DIR
  if (configured) {
    if (!hasServerBinaries(configured)) throw new Error(`PG_BIN_DIR=${configured} has no initdb/postgres`)
    return configured
  }
  const candidates: string[] = []
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`))
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean))
  const found = candidates.find(hasServerBinaries)
  if (!found) {
    throw new Error(
      `no Postgres server binaries found (initdb, postgres). Install them (${INSTALL_HINT}), ` +
        'set PG_BIN_DIR to their directory, or point DATABASE_URL at a running Postgres',
    )
  }
  return found
}

export interface RunAs {
  uid?: number
  gid?: number
}

const systemUser = (name: string): RunAs => {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const gidResult = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (result.status !== 0 || gidResult.status !== 0) {
    throw new Error(
      `running as root, but there is no '${name}' system user to run Postgres as ` +
        `(initdb refuses root). Create one (useradd --system ${name}) or set DATABASE_URL`,
    )
  }
  return { uid: Number(result.stdout.trim()), gid: Number(gidResult.stdout.trim()) }
}

/** As root, the `postgres` system user's ids (spawn options): initdb and the server refuse root. */
export const runAs = (): RunAs => (process.getuid?.() === 0 ? systemUser(USER) : {})

const ownDir = (dir: string, as: RunAs) => {
  mkdirSync(dir, { recursive: true })
  if (as.uid !== undefined && as.gid !== undefined) chownSync(dir, as.uid, as.gid)
  chmodSync(dir, 0o700)
}

export interface EmbeddedPostgres {
  url: string
  port: number
  process: ManagedProcess
  initialised: boolean
}

export const startEmbeddedPostgres = async (opts: {
  dataDir: string
  logFile: string
  cwd: string
  /** Ports other components are configured for: not taken even when free. */
  keepPorts?: readonly number[]
}): Promise<EmbeddedPostgres> => {
  const bin = findPgBinDir()
  const as = runAs()
  const clusterDir = opts.dataDir
  let initialised = false
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    ownDir(clusterDir, as)
    const init = spawnSync(
      join(bin, 'initdb'),
      ['-D', clusterDir, '-U', USER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
      { encoding: 'utf8', ...as, cwd: '/' },
    )
    if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr || init.stdout}`)
    initialised = true
  } else {
    // an older cluster from another major version cannot be started by these binaries
    const version = readFileSync(join(clusterDir, 'PG_VERSION'), 'utf8').trim()
    const binVersion = /\/(\d+)\/bin$/.exec(bin)?.[1]
    if (binVersion && binVersion !== version) {
      throw new Error(
        `${clusterDir} holds a Postgres ${version} cluster but the server found is ${binVersion}; ` +
          'run `npm start -- --reset` to start over',
      )
    }
    ownDir(clusterDir, as)
  }

  const port = await preferredOrFreePort(5432, opts.keepPorts)
  const proc = launch({
    name: 'postgres',
    command: join(bin, 'postgres'),
    args: [
      '-D',
      clusterDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      '',
      '-c',
      'log_min_messages=warning',
    ],
    cwd: '/',
    logFile: opts.logFile,
    ...as,
    // fast shutdown: roll back open transactions and stop now
    stopSignal: 'SIGINT',
    stopTarget: 'leader',
    stopTimeoutMs: 15_000,
  })
  const fail = async (why: string): Promise<never> => {
    await proc.stop()
    throw new Error(`postgres ${why}\n${proc.tail()}`)
  }
  if (!(await waitForPort('127.0.0.1', port, { timeoutMs: 30_000, alive: proc.running }))) {
    await fail(proc.running() ? 'did not accept connections within 30 s' : proc.exitDescription())
  }

  const admin = postgres({
    host: '127.0.0.1',
    port,
    user: USER,
    database: 'postgres',
    max: 1,
    onnotice: () => {},
  })
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        await admin`select 1`
        break
      } catch (err) {
        // "the database system is starting up" while it replays WAL after an unclean stop
        if (Date.now() > deadline || !proc.running())
          await fail(`is not answering: ${(err as Error).message}`)
        await sleep(200)
      }
    }
    const [exists] = await admin`select 1 from pg_database where datname = ${DATABASE_NAME}`
    if (!exists) await admin.unsafe(`create database ${DATABASE_NAME}`)
  } finally {
    await admin.end({ timeout: 2 })
  }

  return {
    url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE_NAME}`,
    port,
    process: proc,
    initialised,
  }
}
