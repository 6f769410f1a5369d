/**
 * The performance benchmark: the bridge (production build) against the limit and the
 * alternatives, every figure next to a baseline measured in the same run. Not a test.
 *
 *   npm run bench
 *   BENCH_ONLY=publish,batch,relay,sse,webhook,e2e,tracing  BENCH_DURATION_S=4  BENCH_WARMUP_S=2
 *   BENCH_CONCURRENCY=32  BENCH_PROFILE=1 (writes bench/*.cpuprofile from the bridge)
 *   BENCH_BRIDGE_ENTRY=dist/ab/before.js (another bundle; no build)
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { connect } from 'nats'
import { natsServerVersion, startNatsServer } from '../test/support/nats-server'
import { startBenchBridge } from './lib/bridge'
import type { BenchContext } from './lib/context'
import {
  applyComposedLimits,
  fmt,
  type Results,
  type Row,
  rowsTable,
  type Target,
  targetsTable,
  writeResults,
} from './lib/report'
import { peakRssMb } from './lib/resources'
import { batchScenario } from './scenarios/batch'
import { endToEndScenario } from './scenarios/end-to-end'
import { publishScenario } from './scenarios/publish'
import { relayScenario } from './scenarios/relay'
import { sseFanoutScenario } from './scenarios/sse-fanout'
import { tracingScenario } from './scenarios/tracing'
import { webhookScenario } from './scenarios/webhook'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const TOKEN = 'bench-token-0123456789abcdef'

const SCENARIOS = {
  publish: publishScenario,
  batch: batchScenario,
  relay: relayScenario,
  sse: sseFanoutScenario,
  webhook: webhookScenario,
  e2e: endToEndScenario,
  tracing: tracingScenario,
} satisfies Record<string, (ctx: BenchContext) => Promise<void>>
type ScenarioName = keyof typeof SCENARIOS

const selected = (): ScenarioName[] => {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean)
  if (!only) return Object.keys(SCENARIOS) as ScenarioName[]
  const unknown = only.filter((name) => !(name in SCENARIOS))
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  return only as ScenarioName[]
}

const targets = (rows: Row[], peakRss: number | undefined): Target[] => {
  const row = (id: string) => rows.find((r) => r.id === id)
  const out: Target[] = []
  const ratio = (target: string, id: string, baseId: string, min: number) => {
    const a = row(id)
    const b = row(baseId)
    if (!a || !b) return
    const value = a.rate / b.rate
    out.push({ target, measured: `${fmt(value, 2)}×`, met: value >= min })
  }
  /** A row's share of the composed limit of its hello and direct rows (see `applyComposedLimits`). */
  const ofLimit = (target: string, id: string, min: number) => {
    const a = row(id)
    if (a?.ofComposedLimit === undefined) return
    out.push({
      target,
      measured: `${fmt(a.ofComposedLimit, 2)}× (${fmt(a.rate)} of ${fmt(a.composedLimit)}/s)`,
      met: a.ofComposedLimit >= min,
    })
  }
  /** A c=1 row's p50 against the `GET /health` p50 of the same run. */
  const p50Within = (target: string, id: string, max: number) => {
    const a = row(id)
    const health = row('e2e-seq-health')
    if (!a || !health) return
    const value = a.p50 / health.p50
    out.push({
      target,
      measured: `${fmt(value, 2)}× (${fmt(a.p50, 1)} vs ${fmt(health.p50, 1)} ms)`,
      met: value <= max,
    })
  }
  ofLimit('e2e POST /api/v1/entities ≥ 0.5 × limit(functions-hello, e2e-direct)', 'e2e-functions', 0.5)
  p50Within('sequential GET entity p50 ≤ 2 × GET /health p50', 'e2e-seq-get', 2)
  p50Within('sequential POST entity p50 ≤ 3 × GET /health p50', 'e2e-seq-post', 3)
  ratio('batch publish ≥ 0.8 × direct pipelined', 'batch-bridge', 'batch-direct', 0.8)
  ofLimit('single-event publish ≥ 0.8 × limit(bridge-hello, publish-direct)', 'publish-bridge', 0.8)
  ratio('single-event publish ≥ 5 × connect-per-event', 'publish-bridge', 'publish-connect-each', 5)
  const relay1 = row('relay-bridge-1')
  const native1 = row('relay-native-1')
  if (relay1 && native1) {
    const overhead = relay1.p50 - native1.p50
    out.push({
      target: 'relay p50 overhead ≤ 0.5 ms (c=1)',
      measured: `${fmt(overhead, 2)} ms`,
      met: overhead <= 0.5,
    })
  }
  ofLimit('relay throughput ≥ 0.8 × limit(bridge-hello, relay-native-n)', 'relay-bridge-n', 0.8)
  if (peakRss !== undefined)
    out.push({ target: 'bridge RSS ≤ 150 MB', measured: `${fmt(peakRss, 0)} MB peak`, met: peakRss <= 150 })
  return out
}

const main = async () => {
  const names = selected()
  const durationS = Number(process.env.BENCH_DURATION_S ?? 4)
  const warmupS = Number(process.env.BENCH_WARMUP_S ?? 2)
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32)
  const profile = process.env.BENCH_PROFILE === '1'
  const environment = {
    node: process.version,
    cpus: cpus().length,
    'nats-server': natsServerVersion(),
    'load average at start': loadavg()[0]!.toFixed(2),
    'seconds per row': durationS,
    'bridge log level': process.env.BENCH_LOG_LEVEL ?? 'info',
  }
  console.log(
    `bench — ${Object.entries(environment)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  )

  const entry = process.env.BENCH_BRIDGE_ENTRY
  if (!entry && process.env.BENCH_SKIP_BUILD !== '1') {
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' })
    if (build.status !== 0) throw new Error('npm run build failed')
  }
  mkdirSync(BENCH_DIR, { recursive: true })

  const nats = await startNatsServer()
  const bridgeOptions = {
    natsUrl: nats.url,
    tokens: { bench: { token: TOKEN, publish: ['>'], request: ['>'], subscribe: ['>'] } },
    entry,
    env: {
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      BRIDGE_MAX_BATCH: '500',
      SSE_MAX_CLIENTS: '2000',
      WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true',
    },
  }
  const bridge = await startBenchBridge({
    ...bridgeOptions,
    logFile: `${BENCH_DIR}/bridge.log`,
    cpuProfDir: profile ? BENCH_DIR : undefined,
  })
  const nc = await connect({ servers: nats.url })
  const rows: Row[] = []
  const ctx: BenchContext = {
    natsUrl: nats.url,
    bridge,
    token: TOKEN,
    nc,
    js: nc.jetstream(),
    durationS,
    warmupS,
    concurrency,
    rows,
    step: (label) => console.log(`  ${label}…`),
    startBridge: (name, env) =>
      startBenchBridge({
        ...bridgeOptions,
        env: { ...bridgeOptions.env, ...env },
        logFile: `${BENCH_DIR}/bridge-${name}.log`,
      }),
  }
  let peakRss: number | undefined
  try {
    for (const name of names) {
      try {
        await SCENARIOS[name](ctx)
      } catch (err) {
        console.error(`  ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      }
    }
    peakRss = bridge.pid ? peakRssMb(bridge.pid) : undefined
  } finally {
    await nc.close()
    await bridge.stop()
    await nats.cleanup()
  }

  applyComposedLimits(rows)
  const results: Results = {
    date: new Date().toISOString(),
    environment: { ...environment, 'load average at end': loadavg()[0]!.toFixed(2) },
    rows,
    targets: targets(rows, peakRss),
    bridge: { peakRssMb: peakRss },
  }
  for (const row of rows.filter((r) => r.errors))
    console.log(`  ${row.scenario}: failures such as ${row.errors!.join(' | ')}`)
  console.log(
    `\n${rowsTable(rows)}\n\nbridge peak RSS ${fmt(peakRss, 0)} MB\n\n${targetsTable(results.targets)}`,
  )
  if (!process.env.BENCH_ONLY || process.env.BENCH_WRITE === '1') writeResults(BENCH_DIR, results)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
