import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection, type Subscription } from 'nats'
import postgres from 'postgres'
import { bold, dim, green, red } from './lib/stack/ansi'
import { parseCli } from './lib/stack/cli'
import { stackFilePath } from './lib/stack/paths'
import { readStackFile, type StackFile } from './lib/stack/stack-file'

/**
 * End-to-end check of a running local stack (`npm start`): every step prints ✔ or ✘ and the exit
 * code is 1 when any failed. The last step is the whole path an event takes: an entity created
 * through the API must show up as `library.entity.registered` on NATS.
 */

const USAGE = `Usage: npm run check:stack [-- --stack <path>] [--timeout <seconds>]

Reads URLs and tokens from .local/stack.json (written by \`npm start\`) and checks: functions health,
database, bridge ready, NATS reachable, entity created via the API and its entity.registered event
observed on NATS; then deletes that entity, so lists do not show it.`

const { values: flags } = parseCli(
  {
    options: {
      stack: { type: 'string' },
      timeout: { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
)
if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}
const eventTimeoutMs = Math.max(1, Number(flags.timeout) || 15) * 1_000

let failures = 0

const formatMs = (ms: number) => (ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`)

/** Runs one check; its return value is the detail printed after ✔. */
const check = async <T>(
  label: string,
  fn: () => Promise<{ detail: string; value?: T }>,
): Promise<T | undefined> => {
  const started = performance.now()
  try {
    const { detail, value } = await fn()
    console.log(
      `  ${green('✔')} ${label.padEnd(28)} ${detail}  ${dim(formatMs(performance.now() - started))}`,
    )
    return value
  } catch (err) {
    failures += 1
    console.log(`  ${red('✘')} ${label.padEnd(28)} ${red((err as Error).message)}`)
    return undefined
  }
}

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined || value === '')
    throw new Error(`${what} is not in the stack file (component not started?)`)
  return value
}

const getJson = async (url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body }
}

const expectStatus = (res: { status: number; body: unknown }, status: number, what: string) => {
  if (res.status !== status) {
    const body = typeof res.body === 'string' ? res.body : JSON.stringify(res.body)
    throw new Error(`${what} answered HTTP ${res.status}: ${body.slice(0, 300)}`)
  }
}

const main = async () => {
  const stackPath = flags.stack ?? stackFilePath()
  console.log(`\n${bold('Checking the local stack')} ${dim(`(${stackPath})`)}`)

  const stack = await check<StackFile>('stack file', async () => {
    const value = readStackFile(stackPath)
    let alive = true
    if (value.pid) {
      try {
        process.kill(value.pid, 0)
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM'
      }
    }
    if (!alive) throw new Error(`written by pid ${value.pid}, which is no longer running: run \`npm start\``)
    return { detail: value.started_at ? `started ${value.started_at}` : 'found', value }
  })
  if (!stack) return

  await check('functions health', async () => {
    const url = need(stack.functions_url, 'functions_url')
    const res = await getJson(`${url}/health`)
    expectStatus(res, 200, 'GET /health')
    return { detail: `${url}/health` }
  })

  await check('database', async () => {
    const sql = postgres(need(stack.database_url, 'database_url'), {
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    })
    try {
      const [row] = await sql<
        { migrations: number }[]
      >`select count(*)::int as migrations from schema_migrations`
      let through = ''
      if (stack.functions_url) {
        // the Worker reaches Postgres through the WebSocket relay: a separate path worth its own check
        const res = await getJson(`${stack.functions_url}/health/detailed`)
        const database = (res.body as { database?: { status?: string } }).database
        if (database?.status !== 'ok') {
          throw new Error(
            `the functions report the database as ${JSON.stringify(database ?? res.body).slice(0, 200)}`,
          )
        }
        through = ', reachable from the functions'
      }
      return { detail: `${row?.migrations ?? 0} migrations applied${through}` }
    } finally {
      await sql.end({ timeout: 2 })
    }
  })

  await check('bridge ready', async () => {
    const url = need(stack.bridge_url, 'bridge_url')
    const res = await getJson(`${url}/ready`)
    expectStatus(res, 200, 'GET /ready')
    return { detail: `${url}/ready` }
  })

  const nc = await check<NatsConnection>('NATS reachable', async () => {
    const value = await connect({
      servers: need(stack.nats_url, 'nats_url').split(','),
      name: 'check-stack',
      timeout: 5_000,
    })
    const jsm = await value.jetstreamManager({ timeout: 5_000 })
    const info = await jsm.streams.info('LIBRARY_EVENTS').catch(() => undefined)
    const stream = info
      ? `stream LIBRARY_EVENTS holds ${info.state.messages} events`
      : 'no LIBRARY_EVENTS stream yet'
    return { detail: `${value.getServer()}, ${stream}`, value }
  })

  let sub: Subscription | undefined
  const entityId = await check<string>('entity created via the API', async () => {
    const url = need(stack.functions_url, 'functions_url')
    const apiKey = need(stack.tokens?.api, 'tokens.api')
    // subscribe before creating so the event cannot slip past
    sub = nc?.subscribe('library.entity.registered')
    const name = `check-stack-${randomUUID().slice(0, 8)}`
    const res = await getJson(`${url}/api/v1/entities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        type: 'indicator',
        version: '1.0.0',
        description: 'created by npm run check:stack',
      }),
    })
    expectStatus(res, 201, 'POST /api/v1/entities')
    const id = (res.body as { id?: string }).id
    if (!id) throw new Error('the response has no id')
    return { detail: `${name} (${id})`, value: id }
  })

  await check('entity.registered on NATS', async () => {
    if (!nc || !sub) throw new Error('NATS is not reachable')
    if (!entityId) throw new Error('no entity was created')
    const started = Date.now()
    const timer = setTimeout(() => sub?.unsubscribe(), eventTimeoutMs)
    try {
      for await (const msg of sub) {
        const event = msg.json<{ event_type?: string; entity_id?: string; event_id?: string }>()
        if (event.entity_id === entityId) {
          return { detail: `${msg.subject} event_id ${event.event_id} after ${Date.now() - started} ms` }
        }
      }
    } finally {
      clearTimeout(timer)
    }
    throw new Error(`no library.entity.registered for ${entityId} within ${eventTimeoutMs / 1_000} s`)
  })

  if (entityId) {
    // leave nothing behind: the entity is soft-deleted, so lists no longer show it
    await check('check entity deleted', async () => {
      const url = need(stack.functions_url, 'functions_url')
      const res = await getJson(`${url}/api/v1/entities/${entityId}`, {
        method: 'DELETE',
        headers: {
          authorization: `Bearer ${need(stack.tokens?.api, 'tokens.api')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ reason: 'npm run check:stack cleans up after itself' }),
      })
      expectStatus(res, 200, `DELETE /api/v1/entities/${entityId}`)
      return { detail: `${entityId} (entity.deleted emitted)` }
    })
  }

  await nc?.close()
}

await main()
console.log(failures === 0 ? `\n${green('all checks passed')}` : `\n${red(`${failures} check(s) failed`)}`)
process.exit(failures === 0 ? 0 : 1)
