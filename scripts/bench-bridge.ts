/**
 * Bridge overhead against a plain Node NATS client, in one run:
 *   direct JetStream publish vs bridge single-event publish (c=32),
 *   direct pipelined batch vs bridge batch (100 events per call),
 *   native request() vs relayed request at c=1 (latency) and c=32 (throughput).
 * Starts its own nats-server, bridge process and responder process. Not a test.
 *
 *   npm run bench:bridge            BENCH_DURATION_S=5 BENCH_BATCH=100 BENCH_CONCURRENCY=32
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from 'nats'
import { createEvent } from '../shared/events'
import { subjectFor } from '../shared/subjects'
import { BRIDGE_TEST_TOKENS, startBridgeProcess } from '../test/support/bridge-process'
import { natsServerVersion, startNatsServer } from '../test/support/nats-server'

interface CannonResult {
  duration: number
  latency: { p50: number; p99: number }
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
}
type CannonRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string }
type Cannon = (opts: {
  url: string
  connections: number
  duration: number
  method: string
  headers: Record<string, string>
  body?: string
  requests?: Array<{ setupRequest?: (req: CannonRequest) => CannonRequest }>
}) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const BATCH_CONCURRENCY = 4
const RELAY_SUBJECT = 'bench.echo'
const TOKEN = BRIDGE_TEST_TOKENS.admin.token

interface Row {
  name: string
  concurrency: number
  /** Operations per second (events for publishes, requests for request/reply). */
  rate: number
  unit: string
  p50: number
  p99: number
  failures: number
  /** Row whose rate (or latency) this one is compared with. */
  baseline?: string
  compare?: 'rate' | 'latency'
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const eventBody = () =>
  createEvent({
    event_type: 'entity.registered',
    entity_id: randomUUID(),
    entity_name: 'bench-strategy',
    entity_type: 'strategy',
    version: '1.0.0',
    data: { description: 'benchmark event' },
  })

/** Runs `op` from `concurrency` loops for the duration; returns ops/s and latency percentiles (ms). */
const runLoops = async (concurrency: number, durationS: number, op: () => Promise<number>) => {
  const latencies: number[] = []
  let done = 0
  let failures = 0
  const until = performance.now() + durationS * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now()
        try {
          const count = await op()
          latencies.push(performance.now() - t)
          done += count
        } catch {
          failures++
        }
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { rate: done / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failures }
}

const cannon = async (
  url: string,
  connections: number,
  body: () => string,
  perRequest: number,
): Promise<Pick<Row, 'rate' | 'p50' | 'p99' | 'failures'>> => {
  const result = await autocannon({
    url,
    connections,
    duration: DURATION_S,
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  })
  return {
    rate: (result['2xx'] * perRequest) / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
  }
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 })

/** One POST on a kept-alive connection; autocannon only reports whole milliseconds, too coarse at c=1. */
const post = (url: string, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      agent: keepAlive,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve(1) : reject(new Error(`HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })

const startResponder = (natsUrl: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const code = `
      import { connect } from 'nats'
      const nc = await connect({ servers: ${JSON.stringify(natsUrl)} })
      nc.subscribe(${JSON.stringify(RELAY_SUBJECT)}, { callback: (_e, m) => m.respond(m.data) })
      await nc.flush()
      console.log('ready')
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout?.once('data', () => resolve(child))
    child.once('exit', (c) => reject(new Error(`responder exited with ${c}`)))
  })

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits })

const printTable = (rows: Row[]) => {
  const byName = new Map(rows.map((r) => [r.name, r]))
  const header = ['scenario', 'c', 'throughput', 'p50 ms', 'p99 ms', 'failed', 'vs direct']
  const lines = rows.map((r) => {
    const base = r.baseline ? byName.get(r.baseline) : undefined
    let ratio = '(baseline)'
    if (base && r.compare === 'latency')
      ratio = `${fmt(r.p50 / base.p50, 2)}x p50, ${fmt(r.p99 / base.p99, 2)}x p99`
    else if (base) ratio = `${fmt((r.rate / base.rate) * 100, 1)}% of rate`
    return [
      r.name,
      String(r.concurrency),
      `${fmt(r.rate)} ${r.unit}/s`,
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      String(r.failures),
      ratio,
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(row(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines) console.log(row(l))
}

const main = async () => {
  console.log(
    `bench:bridge — ${DURATION_S}s per scenario, node ${process.version}, ${cpus().length} CPUs, ${natsServerVersion()}, load ${loadavg()[0]?.toFixed(2)}`,
  )
  const nats = await startNatsServer()
  const bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: { LOG_LEVEL: 'warn', BRIDGE_MAX_BATCH: String(Math.max(BATCH, 500)) },
  })
  const responder = await startResponder(nats.url)
  const nc: NatsConnection = await connect({ servers: nats.url })
  const js = nc.jetstream()
  const encoder = new TextEncoder()
  const subject = subjectFor('entity.registered')
  const rows: Row[] = []
  const step = (label: string) => process.stdout.write(`  ${label}…\n`)

  try {
    step('warm-up')
    await runLoops(8, 1, async () => {
      const e = eventBody()
      await js.publish(subject, encoder.encode(JSON.stringify(e)), { msgID: e.event_id })
      return 1
    })
    await cannon(`${bridge.url}/v1/events`, 8, () => JSON.stringify(eventBody()), 1)

    step(`direct JetStream publish, c=${CONCURRENCY}`)
    rows.push({
      name: 'publish: direct js.publish',
      concurrency: CONCURRENCY,
      unit: 'ev',
      ...(await runLoops(CONCURRENCY, DURATION_S, async () => {
        const e = eventBody()
        await js.publish(subject, encoder.encode(JSON.stringify(e)), { msgID: e.event_id })
        return 1
      })),
    })
    step(`bridge POST /v1/events (1 event), c=${CONCURRENCY}`)
    rows.push({
      name: 'publish: bridge, 1 event/request',
      concurrency: CONCURRENCY,
      unit: 'ev',
      baseline: 'publish: direct js.publish',
      ...(await cannon(`${bridge.url}/v1/events`, CONCURRENCY, () => JSON.stringify(eventBody()), 1)),
    })

    step(`direct pipelined batch of ${BATCH}, c=${BATCH_CONCURRENCY}`)
    rows.push({
      name: `batch: direct, ${BATCH} pipelined`,
      concurrency: BATCH_CONCURRENCY,
      unit: 'ev',
      ...(await runLoops(BATCH_CONCURRENCY, DURATION_S, async () => {
        const acks = await Promise.all(
          Array.from({ length: BATCH }, () => {
            const e = eventBody()
            return js.publish(subject, encoder.encode(JSON.stringify(e)), { msgID: e.event_id })
          }),
        )
        return acks.length
      })),
    })
    step(`bridge batch of ${BATCH}, c=${BATCH_CONCURRENCY}`)
    rows.push({
      name: `batch: bridge, ${BATCH}/request`,
      concurrency: BATCH_CONCURRENCY,
      unit: 'ev',
      baseline: `batch: direct, ${BATCH} pipelined`,
      ...(await cannon(
        `${bridge.url}/v1/events`,
        BATCH_CONCURRENCY,
        () => JSON.stringify({ events: Array.from({ length: BATCH }, eventBody) }),
        BATCH,
      )),
    })

    const payload = JSON.stringify({
      from_entity_id: randomUUID(),
      to_entity_id: randomUUID(),
      reason: 'bench',
    })
    for (const c of [1, CONCURRENCY]) {
      step(`native request(), c=${c}`)
      const nativeName = `request: native nc.request, c=${c}`
      rows.push({
        name: nativeName,
        concurrency: c,
        unit: 'req',
        ...(await runLoops(c, DURATION_S, async () => {
          await nc.request(RELAY_SUBJECT, payload, { timeout: 5_000 })
          return 1
        })),
      })
      step(`bridge POST /v1/request, c=${c}`)
      rows.push({
        name: `request: bridge relay, c=${c}`,
        concurrency: c,
        unit: 'req',
        baseline: nativeName,
        compare: c === 1 ? 'latency' : 'rate',
        ...(c === 1
          ? await runLoops(1, DURATION_S, () => post(`${bridge.url}/v1/request/${RELAY_SUBJECT}`, payload))
          : await cannon(`${bridge.url}/v1/request/${RELAY_SUBJECT}`, c, () => payload, 1)),
      })
    }
    console.log('')
    printTable(rows)
    console.log(
      `\nload average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (all processes share ${cpus().length} CPUs)`,
    )
  } finally {
    keepAlive.destroy()
    await nc.close()
    responder.kill('SIGTERM')
    await bridge.stop()
    await nats.cleanup()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
