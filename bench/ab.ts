/**
 * A/B comparison of two bridge bundles under the same load, for judging one optimisation on a
 * noisy machine: both run side by side on one nats-server and take turns, short round after
 * short round, so that background load hits both alike. Reports bridge CPU per 1,000 requests
 * (the steadiest figure) and throughput for single-event publish (c=32) and relay (c=1, c=32).
 *
 *   tsx bench/ab.ts dist/ab/before.js dist/ab/after.js   AB_ROUNDS=6 AB_ROUND_S=1.5
 *   tsx bench/ab.ts dist/bridge/main.js '--max-semi-space-size=8 dist/bridge/main.js'  (Node options)
 */
import { randomUUID } from 'node:crypto'
import { startNatsServer } from '../test/support/nats-server'
import { type BenchBridge, startBenchBridge } from './lib/bridge'
import { cannonEvents } from './lib/events'
import { cannon, keepAlivePoster } from './lib/http'
import { runLoops } from './lib/measure'
import { markdownTable } from './lib/report'
import { cpuMs, peakRssMb } from './lib/resources'
import { startResponder } from './lib/responder'

const TOKEN = 'bench-token-0123456789abcdef'
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6)
const ROUND_S = Number(process.env.AB_ROUND_S ?? 1.5)
const entries = process.argv.slice(2)
if (entries.length !== 2) {
  console.error('usage: tsx bench/ab.ts <before.js> <after.js>')
  process.exit(2)
}

interface Tally {
  cpu: number
  count: number
  seconds: number
}
const tally = (): Tally => ({ cpu: 0, count: 0, seconds: 0 })

const measure = async (
  bridge: BenchBridge,
  into: Tally,
  work: () => Promise<{ count: number; seconds: number }>,
) => {
  const before = cpuMs(bridge.pid!)
  const result = await work()
  into.cpu += cpuMs(bridge.pid!) - before
  into.count += result.count
  into.seconds += result.seconds
}

const nats = await startNatsServer()
const responder = await startResponder(nats.url, 'bench.echo')
const bridges: BenchBridge[] = []
try {
  for (const [i, entry] of entries.entries()) {
    bridges.push(
      await startBenchBridge({
        natsUrl: nats.url,
        entry: entry.split(' ').at(-1),
        nodeArgs: entry.includes(' ') ? entry.split(' ').slice(0, -1) : undefined,
        tokens: { bench: { token: TOKEN, publish: ['>'], request: ['>'], subscribe: ['>'] } },
        logFile: `${import.meta.dirname}/ab-${i}.log`,
        env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' },
      }),
    )
  }
  const publish = bridges.map(tally)
  const relay = bridges.map(tally)
  const relayN = bridges.map(tally)
  const payload = JSON.stringify({ from_entity_id: randomUUID(), reason: 'bench' })
  for (let round = 0; round <= ROUNDS; round++) {
    // Round 0 warms both up and is not counted.
    const order = round % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) {
      const bridge = bridges[i]!
      const sink = round === 0 ? tally() : publish[i]!
      await measure(bridge, sink, () => cannonEvents(bridge.url, TOKEN, 32, ROUND_S))
      const poster = keepAlivePoster(TOKEN)
      await measure(bridge, round === 0 ? tally() : relay[i]!, () =>
        runLoops(1, ROUND_S, () => poster.post(`${bridge.url}/v1/request/bench.echo`, payload)),
      )
      poster.close()
      await measure(bridge, round === 0 ? tally() : relayN[i]!, () =>
        cannon({
          url: `${bridge.url}/v1/request/bench.echo`,
          token: TOKEN,
          connections: 32,
          durationS: ROUND_S,
          body: () => payload,
        }),
      )
    }
  }
  const line = (name: string, t: Tally[], i: number) => [
    name,
    entries[i]!,
    ((t[i]!.cpu / t[i]!.count) * 1000).toFixed(1),
    (t[i]!.count / t[i]!.seconds).toFixed(0),
  ]
  console.log(
    markdownTable(
      ['scenario', 'bundle', 'bridge CPU ms/1k', 'req/s'],
      [
        line('publish c=32', publish, 0),
        line('publish c=32', publish, 1),
        line('relay c=1', relay, 0),
        line('relay c=1', relay, 1),
        line('relay c=32', relayN, 0),
        line('relay c=32', relayN, 1),
      ],
    ),
  )
  for (const [i, bridge] of bridges.entries())
    console.log(`peak RSS of ${entries[i]}: ${peakRssMb(bridge.pid!).toFixed(0)} MB`)
} finally {
  for (const b of bridges) await b.stop()
  responder.kill('SIGTERM')
  await nats.cleanup()
}
