import { Client as NeonClient, neonConfig } from '@neondatabase/serverless'
import { connect, type NatsConnection, RetentionPolicy, StorageType } from 'nats'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { applyMigrations, loadMigrations } from '../../functions/db/migrate'
import { createTerminateDetector, type PgWsRelay, startPgWsRelay } from '../../scripts/lib/pg-ws-relay'
import { startNatsCluster, startNatsServer } from './nats-server'
import {
  createTestDatabase,
  openSql,
  type PostgresServer,
  startPostgres,
  type TestDatabase,
} from './postgres'

const waitUntil = async (check: () => Promise<boolean>, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('nats-server fixture', () => {
  const publishAndCount = async (nc: NatsConnection, count: number) => {
    const js = nc.jetstream()
    for (let i = 0; i < count; i++) await js.publish('fixture.test', new TextEncoder().encode(`m${i}`))
  }
  const streamMessages = async (url: string) => {
    const nc = await connect({ servers: url })
    try {
      const jsm = await nc.jetstreamManager()
      return (await jsm.streams.info('FIXTURE')).state.messages
    } finally {
      await nc.close()
    }
  }

  it('keeps JetStream messages across stop/restart and kill/restart on the same port', async () => {
    const server = await startNatsServer()
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
      const nc = await connect({ servers: server.url })
      const jsm = await nc.jetstreamManager()
      await jsm.streams.add({ name: 'FIXTURE', subjects: ['fixture.>'], storage: StorageType.File })
      await publishAndCount(nc, 3)
      await nc.close()

      const firstPid = server.pid
      await server.stop()
      expect(server.pid).toBeUndefined()
      await server.restart()
      expect(server.pid).not.toBe(firstPid)
      expect(await streamMessages(server.url)).toBe(3)

      await server.kill()
      expect(server.pid).toBeUndefined()
      await server.restart()
      expect(await streamMessages(server.url)).toBe(3)
    } finally {
      await server.cleanup()
    }
  })

  it('names the fix when the binary is missing', async () => {
    vi.stubEnv('NATS_SERVER_BIN', '/nonexistent/nats-server')
    try {
      await expect(startNatsServer()).rejects.toThrow(/apt-get install -y nats-server/)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('starts a 3-node JetStream cluster that accepts an R3 stream', async () => {
    const cluster = await startNatsCluster()
    try {
      expect(cluster.servers).toHaveLength(3)
      const nc = await connect({ servers: cluster.urls })
      try {
        const jsm = await nc.jetstreamManager()
        const info = await jsm.streams.add({
          name: 'FIXTURE_R3',
          subjects: ['r3.>'],
          num_replicas: 3,
          retention: RetentionPolicy.Limits,
        })
        expect(info.config.num_replicas).toBe(3)
        const ack = await nc.jetstream().publish('r3.one', new TextEncoder().encode('x'))
        expect(ack.seq).toBe(1)
      } finally {
        await nc.close()
      }
    } finally {
      await cluster.cleanup()
    }
  })
})

describe('postgres fixture and migrations', () => {
  let pg: PostgresServer
  let db: TestDatabase

  beforeAll(async () => {
    pg = await startPostgres()
    db = await createTestDatabase(pg.url, 'fixtures')
  })
  afterAll(async () => {
    await db?.drop()
    await pg?.stop()
  })

  it('creates a fresh database with every migration applied', async () => {
    const sql = openSql(db.url)
    try {
      const applied = await sql<{ name: string }[]>`select name from schema_migrations order by name`
      const files = await loadMigrations()
      expect(applied.map((r) => r.name)).toEqual(files.map((m) => m.name))
      const [outbox] = await sql`select to_regclass('public.outbox') as t`
      expect(outbox?.t).toBe('outbox')
      expect(await applyMigrations(sql)).toEqual([])
    } finally {
      await sql.end()
    }
  })

  it('applies each migration once when two runners race on an empty database', async () => {
    const admin = openSql(pg.url, { max: 1 })
    const name = `race_${Date.now().toString(36)}`
    await admin.unsafe(`create database "${name}"`)
    const url = new URL(pg.url)
    url.pathname = `/${name}`
    const a = openSql(url.toString(), { max: 1 })
    const b = openSql(url.toString(), { max: 1 })
    try {
      const [fromA, fromB] = await Promise.all([applyMigrations(a), applyMigrations(b)])
      const all = (await loadMigrations()).map((m) => m.name)
      expect([...fromA, ...fromB].sort()).toEqual(all)
      const [count] = await a`select count(*)::int as n from schema_migrations`
      expect(count?.n).toBe(all.length)
    } finally {
      await a.end()
      await b.end()
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end()
    }
  })

  it('drop() removes the database', async () => {
    const extra = await createTestDatabase(pg.url, 'dropme')
    await extra.drop()
    const admin = openSql(pg.url, { max: 1 })
    try {
      const rows = await admin`select 1 from pg_database where datname = ${extra.name}`
      expect(rows).toHaveLength(0)
    } finally {
      await admin.end()
    }
  })
})

describe('pg-ws-relay', () => {
  let pg: PostgresServer
  let db: TestDatabase
  let relay: PgWsRelay

  beforeAll(async () => {
    pg = await startPostgres()
    db = await createTestDatabase(pg.url, 'relay')
    const target = new URL(db.url)
    relay = await startPgWsRelay({
      pgHost: target.hostname,
      pgPort: Number(target.port || 5432),
      databases: [db.name],
    })
  })
  afterAll(async () => {
    await relay?.close()
    await db?.drop()
    await pg?.stop()
  })

  const backends = async (appName: string) => {
    const sql = openSql(db.url, { max: 1 })
    try {
      const [row] =
        await sql`select count(*)::int as n from pg_stat_activity where application_name = ${appName}`
      return row?.n as number
    } finally {
      await sql.end()
    }
  }

  const startupMessage = (appName: string) => {
    const params = ['user', 'postgres', 'database', db.name, 'application_name', appName]
    const body = Buffer.concat([...params.map((p) => Buffer.from(`${p}\0`)), Buffer.from([0])])
    const header = Buffer.alloc(8)
    header.writeInt32BE(8 + body.length, 0)
    header.writeInt32BE(196608, 4)
    return Buffer.concat([header, body])
  }

  /** Opens a raw protocol session through the relay and waits for ReadyForQuery. */
  const openSession = async (appName: string) => {
    const ws = new WebSocket(`${relay.url}v2?address=ignored.example:5432`)
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    let received = Buffer.alloc(0)
    const ready = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        received = Buffer.concat([received, data])
        if (received.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve()
      })
      ws.once('error', reject)
    })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    ws.send(startupMessage(appName))
    await ready
    return { ws, closed }
  }

  it('ends both sides on the Terminate message', async () => {
    const appName = `relay_terminate_${process.pid}`
    const { ws, closed } = await openSession(appName)
    expect(await backends(appName)).toBe(1)
    expect(relay.connections).toBe(1)
    ws.send(Buffer.from([0x58, 0, 0, 0, 4]))
    expect(await closed).toBe(1000)
    await waitUntil(async () => (await backends(appName)) === 0, 'the backend to exit')
    await waitUntil(async () => relay.connections === 0, 'the relay to forget the pair')
  })

  it('closes the Postgres connection when the WebSocket goes away', async () => {
    const appName = `relay_close_${process.pid}`
    const { ws } = await openSession(appName)
    expect(await backends(appName)).toBe(1)
    ws.terminate()
    await waitUntil(async () => (await backends(appName)) === 0, 'the backend to exit')
  })

  it('carries the Neon serverless driver to Postgres', async () => {
    neonConfig.webSocketConstructor = WebSocket
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${relay.port}/v2?address=${host}:${port}`
    neonConfig.useSecureWebSocket = false
    neonConfig.pipelineTLS = false
    neonConfig.pipelineConnect = false
    const client = new NeonClient({ connectionString: db.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from outbox')
      expect(rows).toEqual([{ n: 0 }])
      // larger than the relay's high-water mark, so the TCP side is paused and resumed on the way
      const big = await client.query<{ s: string }>("select repeat('x', 3000000) as s")
      expect(big.rows[0]?.s.length).toBe(3_000_000)
    } finally {
      await client.end()
    }
  })

  it('spots Terminate only at a message boundary, across chunk splits and after an SSLRequest', () => {
    const ssl = Buffer.alloc(8)
    ssl.writeInt32BE(8, 0)
    ssl.writeInt32BE(80877103, 4)
    // a simple query whose text contains the byte 'X'
    const text = Buffer.from("select 'X'\0")
    const query = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 4 + text.length]), text])
    const stream = Buffer.concat([ssl, startupMessage('detector'), query, Buffer.from([0x58, 0, 0, 0, 4])])
    const detect = createTerminateDetector()
    const seen = []
    for (let i = 0; i < stream.length; i += 3) seen.push(detect(stream.subarray(i, i + 3)))
    expect(seen.slice(0, -1).every((x) => x === false)).toBe(true)
    expect(seen.at(-1)).toBe(true)
    expect(createTerminateDetector()(Buffer.concat([startupMessage('detector'), query]))).toBe(false)
  })

  it('refuses a non-loopback Postgres target', async () => {
    await expect(startPgWsRelay({ pgHost: '10.0.0.1', pgPort: 5432, databases: ['x'] })).rejects.toThrow(
      /loopback/,
    )
  })
})
