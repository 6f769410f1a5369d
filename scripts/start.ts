import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import postgres from 'postgres'
import { applyMigrations } from '../functions/db/migrate'
import { isLoopbackHost, startPgWsRelay } from './lib/pg-ws-relay'
import { blue, bold, cyan, dim, gray, green, magenta, red, yellow } from './lib/stack/ansi'
import { functionsForwardRoutes, startBridge } from './lib/stack/bridge'
import { parseCli } from './lib/stack/cli'
import { loadDevSecrets } from './lib/stack/dev-secrets'
import { startExecutor } from './lib/stack/executor'
import { apiKeysVar, startFunctions } from './lib/stack/functions'
import { PidRegistry } from './lib/stack/leftovers'
import { formatLogLine } from './lib/stack/log-lines'
import { launchedProcesses, setLaunchHook } from './lib/stack/managed-process'
import { ensureNatsServerBin, startEmbeddedNats } from './lib/stack/nats'
import { dataDir, localDir, ROOT, stackFilePath } from './lib/stack/paths'
import { freePort, portCollisions, requireFreePort } from './lib/stack/ports'
import { startEmbeddedPostgres } from './lib/stack/postgres'
import { heading, info, interrupt, interrupted, StepFailed, skipped, step } from './lib/stack/progress'
import { removeStackFile, type StackFile, writeStackFile } from './lib/stack/stack-file'
import { link, type SummaryRow, summaryBox } from './lib/stack/summary'

const USAGE = `Usage: npm start [-- options]

Runs the whole local stack: nats-server (JetStream), Postgres, migrations, the Postgres relay,
the bridge, the functions (wrangler dev) and the reference swap executor.

Options:
  --no-executor   do not start the reference swap executor
  --reset         wipe the persistent state (${relative(ROOT, dataDir()) || '.data'}/) before starting
  --quiet         do not echo component logs after start-up (they are always in .local/logs/)
  -h, --help      show this help

Environment: NATS_URL, DATABASE_URL (use running services instead of starting them),
BRIDGE_PORT (8340), FUNCTIONS_PORT (8350), NATS_SERVER_BIN, PG_BIN_DIR, STACK_DATA_DIR (.data),
STACK_LOCAL_DIR (.local), FUNCTIONS_CRON_INTERVAL_MS, BRIDGE_LOG_LEVEL.`

const { values: flags } = parseCli(
  {
    options: {
      'no-executor': { type: 'boolean', default: false },
      reset: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
)
if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}

const portFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name]?.trim()
  if (!raw) return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    console.error(red(`${name} must be a TCP port (1-65535), got '${raw}'`))
    process.exit(2)
  }
  return port
}

const BRIDGE_PORT = portFromEnv('BRIDGE_PORT', 8340)
const FUNCTIONS_PORT = portFromEnv('FUNCTIONS_PORT', 8350)

/** The port of a NATS_URL or DATABASE_URL on this machine (another host's ports cannot clash). */
const localPortOf = (name: string, defaultPort: number): number | undefined => {
  try {
    const url = new URL(process.env[name] ?? '')
    return isLoopbackHost(url.hostname) ? Number(url.port || defaultPort) : undefined
  } catch {
    return undefined
  }
}

const collision = portCollisions({
  BRIDGE_PORT,
  FUNCTIONS_PORT,
  ...(process.env.NATS_URL ? { NATS_URL: localPortOf('NATS_URL', 4222) } : {}),
  ...(process.env.DATABASE_URL ? { DATABASE_URL: localPortOf('DATABASE_URL', 5432) } : {}),
})
if (collision) {
  console.error(red(collision))
  process.exit(2)
}
const DATA = dataDir()
const LOCAL = localDir()
const LOGS = join(LOCAL, 'logs')
const STACK_FILE = stackFilePath()
const rel = (path: string) => relative(process.cwd(), path) || '.'

// ---- shutdown bookkeeping --------------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = []
let stopping: Promise<void> | undefined
let registry: PidRegistry | undefined
let releaseRunLock = () => {}
let wroteStackFile = false
setLaunchHook((proc) =>
  registry?.add(proc.name, proc.pid, { signal: proc.stopSignal, target: proc.stopTarget }),
)

const shutdown = (code: number, why?: string): Promise<void> => {
  if (stopping) return stopping
  stopping = (async () => {
    if (why) console.log(`\n${why}`)
    if (wroteStackFile) removeStackFile(STACK_FILE)
    for (const cleanup of cleanups.reverse()) await cleanup()
    for (const proc of [...launchedProcesses()].reverse()) {
      const started = performance.now()
      await proc.stop()
      registry?.remove(proc.pid)
      console.log(
        `  ${gray('■')} stopped ${proc.name.padEnd(15)} ${dim(`${Math.round(performance.now() - started)} ms`)}`,
      )
    }
    registry?.clear()
    releaseRunLock()
    process.exit(code)
  })()
  return stopping
}

let firstSignalAt: number | undefined
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    // Ctrl-C reaches us twice at once (from the terminal and relayed by tsx/npm): only a later one counts
    const repeated = firstSignalAt !== undefined && Date.now() - firstSignalAt > 1_000
    firstSignalAt ??= Date.now()
    if (repeated && sig === 'SIGINT') {
      // a second Ctrl-C: do not wait for graceful shutdowns
      for (const proc of launchedProcesses()) {
        try {
          process.kill(-proc.pid, 'SIGKILL')
        } catch {}
      }
      process.exit(130)
    }
    const name = sig === 'SIGINT' ? 'Ctrl-C' : sig
    if (wroteStackFile) {
      void shutdown(0, `${name}: stopping the local stack…`)
      return
    }
    // the steps still running fail as their processes stop: they say why instead of the error
    interrupt(name)
    void shutdown(0, `${name} during start-up: stopping what was started…`)
  })
}

// whoever reads our output may be gone first (a pipe closed by a stopped parent): a failed write
// must not end this process before it has stopped what it started
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

// a client caught by the stop of its server can throw from a timer (postgres.js mid-migration):
// whatever throws, the processes started so far are stopped before this one ends
process.on('uncaughtException', (err) => {
  if (stopping) return
  console.error(red(`\nnpm start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`))
  void shutdown(1)
})

// npm and `sh -c` may exit on a signal without passing it on; we notice by being reparented
const parentAtStart = process.ppid
setInterval(() => {
  if (process.ppid !== parentAtStart) {
    if (!wroteStackFile) interrupt('npm start was stopped')
    void shutdown(0, 'npm start was stopped: stopping the local stack…')
  }
}, 1_000).unref()

const fail = async (err: unknown): Promise<never> => {
  if (interrupted()) {
    // not a failure: the user stopped start-up, and the shutdown under way says so
    await shutdown(0)
    return process.exit(0)
  }
  const message = err instanceof StepFailed ? err.cause : err
  const text = message instanceof Error ? message.message : String(message)
  console.error(`\n${red(bold('npm start failed:'))} ${text}`)
  if (err instanceof StepFailed) console.error(dim(`logs: ${rel(LOGS)}/`))
  await shutdown(1)
  return process.exit(1)
}

// ---- the stack --------------------------------------------------------------------------------

const main = async () => {
  heading('Library local stack')
  claimRunLock()

  if (flags.reset) {
    await step('reset', async (ctx) => {
      // whatever still runs from an earlier start must not hold files we are about to delete
      const stopped = await new PidRegistry(join(LOCAL, 'pids.json')).stopLeftovers()
      rmSync(DATA, { recursive: true, force: true })
      ctx.detail(`wiped ${rel(DATA)}/${stopped.length ? `, stopped ${stopped.join(', ')}` : ''}`)
    })
  }
  mkdirSync(DATA, { recursive: true })
  // the postgres system user must be able to reach its cluster directory inside
  chmodSync(DATA, 0o755)
  mkdirSync(LOGS, { recursive: true })

  registry = new PidRegistry(join(LOCAL, 'pids.json'))
  const leftovers = await registry.stopLeftovers()
  if (leftovers.length) info(`stopped leftovers of an earlier run: ${leftovers.join(', ')}`)

  await requireFreePort(BRIDGE_PORT, 'bridge', 'BRIDGE_PORT')
  await requireFreePort(FUNCTIONS_PORT, 'functions', 'FUNCTIONS_PORT')

  const secrets = loadDevSecrets(join(DATA, 'dev-secrets.json'))
  const stack: StackFile = { tokens: {} }

  // NATS
  const natsUrl = await step('nats-server', async (ctx) => {
    if (process.env.NATS_URL) {
      ctx.detail(`${process.env.NATS_URL} ${dim('(NATS_URL, not started here)')}`)
      return process.env.NATS_URL
    }
    const bin = ensureNatsServerBin(ctx.say)
    const nats = await startEmbeddedNats({
      bin,
      storeDir: join(DATA, 'nats'),
      logFile: join(LOGS, 'nats-server.log'),
      cwd: ROOT,
      keepPorts: [BRIDGE_PORT, FUNCTIONS_PORT],
    })
    stack.nats_monitor_url = nats.monitorUrl
    ctx.detail(`${nats.url} ${dim(`JetStream in ${rel(join(DATA, 'nats'))}/`)}`)
    return nats.url
  })
  stack.nats_url = natsUrl

  // Postgres
  const databaseUrl = await step('postgres', async (ctx) => {
    if (process.env.DATABASE_URL) {
      ctx.detail(`${redact(process.env.DATABASE_URL)} ${dim('(DATABASE_URL, not started here)')}`)
      return process.env.DATABASE_URL
    }
    const pg = await startEmbeddedPostgres({
      dataDir: join(DATA, 'postgres'),
      logFile: join(LOGS, 'postgres.log'),
      cwd: ROOT,
      keepPorts: [BRIDGE_PORT, FUNCTIONS_PORT],
    })
    ctx.detail(
      `${pg.url} ${dim(`${pg.initialised ? 'new cluster in' : 'data in'} ${rel(join(DATA, 'postgres'))}/`)}`,
    )
    return pg.url
  })
  stack.database_url = databaseUrl

  await step('migrations', async (ctx) => {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 })
    try {
      const applied = await applyMigrations(sql)
      ctx.detail(applied.length ? `applied ${applied.join(', ')}` : 'up to date')
    } finally {
      await sql.end({ timeout: 2 })
    }
  })

  // the Neon driver inside wrangler dev speaks Postgres over WebSocket and SQL-over-HTTP; a local
  // server needs the relay (both on one port)
  const dbUrl = new URL(databaseUrl)
  let pgWsProxy: string | undefined
  if (isLoopbackHost(dbUrl.hostname)) {
    pgWsProxy = await step('postgres relay', async (ctx) => {
      const relay = await startPgWsRelay({
        pgHost: dbUrl.hostname,
        pgPort: Number(dbUrl.port || 5432),
        databases: [decodeURIComponent(dbUrl.pathname.slice(1)) || 'postgres'],
        port: await freePort('127.0.0.1', [BRIDGE_PORT, FUNCTIONS_PORT]),
      })
      cleanups.push(() => relay.close())
      ctx.detail(`${relay.url} ${dim(`+ POST ${relay.sqlUrl}`)}`)
      return `127.0.0.1:${relay.port}`
    })
    stack.pg_ws_proxy = pgWsProxy
  }

  // bridge
  const bridgeUrl = `http://127.0.0.1:${BRIDGE_PORT}`
  const functionsUrl = `http://127.0.0.1:${FUNCTIONS_PORT}`
  await step('bridge', async (ctx) => {
    const bridge = await startBridge({
      root: ROOT,
      port: BRIDGE_PORT,
      natsUrl,
      tokens: {
        admin: {
          token: secrets.admin,
          publish: ['>'],
          request: ['>'],
          subscribe: ['>'],
          observe: ['>'],
          admin: true,
        },
        functions: {
          token: secrets.functions,
          publish: ['library.>'],
          request: ['library.swap.command'],
          subscribe: [],
        },
      },
      forward: { token: secrets.forward, routes: functionsForwardRoutes(functionsUrl) },
      logFile: join(LOGS, 'bridge.log'),
    })
    ctx.detail(bridge.url)
  })
  stack.bridge_url = bridgeUrl
  stack.tokens = { ...stack.tokens, admin: secrets.admin, functions: secrets.functions }

  // functions
  await step('functions', async (ctx) => {
    const vars: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      BRIDGE_URL: bridgeUrl,
      BRIDGE_TOKEN: secrets.functions,
      API_KEYS: apiKeysVar([{ name: 'dev', key: secrets.api }]),
      WEBHOOK_SOURCES: JSON.stringify({ dev: { secrets: [secrets.webhook_dev], allow: ['*'] } }),
      FORWARD_TOKEN: secrets.forward,
    }
    if (pgWsProxy) vars.PG_WS_PROXY = pgWsProxy
    const cronMs = Number(process.env.FUNCTIONS_CRON_INTERVAL_MS) || undefined
    const functions = await startFunctions({
      root: ROOT,
      port: FUNCTIONS_PORT,
      vars,
      envFile: join(LOCAL, 'functions.env'),
      persistDir: join(DATA, 'wrangler'),
      logFile: join(LOGS, 'functions.log'),
      cronIntervalMs: cronMs,
      onCronError: (message) => console.log(`${yellow('[cron]')} ${message}`),
    })
    cleanups.push(() => functions.stopCron())
    ctx.detail(`${functions.url} ${dim('(wrangler dev)')}`)
  })
  stack.functions_url = functionsUrl
  stack.tokens = { ...stack.tokens, api: secrets.api }
  stack.webhook_secrets = { dev: secrets.webhook_dev }

  // reference swap executor
  if (flags['no-executor']) {
    skipped('swap executor', '--no-executor')
  } else {
    await step('swap executor', async (ctx) => {
      await startExecutor({ root: ROOT, natsUrl, logFile: join(LOGS, 'swap-executor.log') })
      ctx.detail('answering library.swap.command')
    })
  }

  stack.pid = process.pid
  stack.started_at = new Date().toISOString()
  writeStackFile(STACK_FILE, stack)
  wroteStackFile = true

  console.log(`\n${summaryBox('Local stack ready', summaryRows(stack))}`)
  if (stack.functions_url && stack.tokens?.api) {
    const body = `'{"name": "my-strategy", "type": "strategy", "version": "1.0.0"}'`
    console.log(`\n${bold('Try it')}`)
    console.log(
      dim(
        `  curl -H 'authorization: Bearer ${stack.tokens.api}' -H 'content-type: application/json' \\\n` +
          `       -d ${body} ${stack.functions_url}/api/v1/entities`,
      ),
    )
    console.log(dim(`  npm run tail -- 'library.>'      npm run check:stack`))
  }
  console.log(`\n${bold('ready')}`)

  if (!flags.quiet) {
    const colours = [cyan, magenta, blue, yellow, green]
    launchedProcesses().forEach((proc, i) => {
      proc.echo((colours[i % colours.length] ?? dim)(`[${proc.name}]`), formatLogLine)
    })
  }
  // a component that dies takes the stack down: a half-running stack is more confusing than none
  const watchdog = setInterval(() => {
    const dead = launchedProcesses().find((p) => !p.running())
    if (dead && !stopping) {
      console.error(red(`\n${dead.name} ${dead.exitDescription()}:\n${dead.tail(20)}`))
      void shutdown(1)
    }
  }, 500)
  cleanups.push(() => clearInterval(watchdog))
}

/** One `npm start` per state directory: a second one would take the first one's children for leftovers. */
const claimRunLock = () => {
  mkdirSync(LOCAL, { recursive: true })
  const lock = join(LOCAL, 'start.pid')
  const holder = existsSync(lock) ? Number(readFileSync(lock, 'utf8').trim()) : undefined
  if (holder && holder !== process.pid && pidAlive(holder)) {
    throw new Error(
      `the local stack is already running (pid ${holder}). Stop it first (Ctrl-C there, or kill -TERM ${holder}), ` +
        'or give this one its own STACK_DATA_DIR, STACK_LOCAL_DIR, BRIDGE_PORT and FUNCTIONS_PORT',
    )
  }
  writeFileSync(lock, `${process.pid}\n`)
  releaseRunLock = () => {
    if (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(process.pid))
      rmSync(lock, { force: true })
  }
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@')

const summaryRows = (stack: StackFile): SummaryRow[] => {
  const rows: SummaryRow[] = []
  if (stack.functions_url) {
    rows.push(['API', link(`${stack.functions_url}/api/v1`)])
    const bridgeDocs = stack.bridge_url
      ? `\n${link(`${stack.bridge_url}/docs`)} ${dim('(bridge)')}\n${link(`${stack.bridge_url}/asyncapi`)} ${dim('(NATS, AsyncAPI)')}`
      : ''
    rows.push(['Docs', `${link(`${stack.functions_url}/docs`)}${bridgeDocs}`])
  }
  if (stack.bridge_url) {
    // the console takes its token from the fragment, which never reaches a server log
    const admin = stack.tokens?.admin
    rows.push(['Console', link(`${stack.bridge_url}/console${admin ? `#token=${admin}` : ''}`)])
    rows.push(['Bridge', link(stack.bridge_url)])
  }
  rows.push([
    'NATS',
    `${link(stack.nats_url ?? '')}${stack.nats_monitor_url ? dim(`  monitor ${stack.nats_monitor_url}`) : ''}`,
  ])
  rows.push(['Postgres', redact(stack.database_url ?? '')])
  const tokens = Object.entries(stack.tokens ?? {})
  if (tokens.length) {
    rows.push('gap')
    const width = Math.max(...tokens.map(([name]) => name.length))
    rows.push(['Tokens', tokens.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')])
  }
  rows.push('gap')
  rows.push(['Stack file', rel(STACK_FILE)])
  rows.push(['Logs', `${rel(LOGS)}/`])
  rows.push(['Stop', `Ctrl-C  ${dim(`(or kill -TERM ${process.pid})`)}`])
  return rows
}

main().catch(fail)
