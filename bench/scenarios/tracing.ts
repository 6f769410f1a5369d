import type { BenchBridge } from '../lib/bridge'
import type { BenchContext } from '../lib/context'
import { cannonEvents } from '../lib/events'
import type { Sample } from '../lib/measure'
import { startOtlpSink } from '../lib/otlp-sink'
import { fmt } from '../lib/report'
import { cpuMs } from '../lib/resources'

const ROUNDS = 4

interface Tally {
  cpuMs: number
  samples: Sample[]
}

const total = ({ cpuMs: cpu, samples }: Tally) => {
  const count = samples.reduce((sum, s) => sum + s.count, 0)
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0)
  const weighted = (key: 'p50' | 'p99') => samples.reduce((sum, s) => sum + s[key] * s.count, 0) / count
  return {
    rate: count / seconds,
    p50: weighted('p50'),
    p99: weighted('p99'),
    failures: samples.reduce((sum, s) => sum + s.failures, 0),
    count,
    seconds,
    cpuMsPer1k: (cpu / count) * 1000,
  }
}

/**
 * Bridge CPU per 1,000 single-event publishes with tracing off (the run's bridge, no OTEL_*
 * variable) and on (a second bridge exporting every span to a local OTLP endpoint that discards
 * them). The two take turns, round after round, so that background load hits both alike.
 */
export const tracingScenario = async (ctx: BenchContext) => {
  const { concurrency: c, durationS, warmupS } = ctx
  const sink = await startOtlpSink()
  const on = await ctx.startBridge('tracing-on', {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_SERVICE_NAME: 'library-bridge-bench',
  })
  const publish = (bridge: BenchBridge, seconds: number) => cannonEvents(bridge.url, ctx.token, c, seconds)
  const sides = [
    { bridge: ctx.bridge, tally: { cpuMs: 0, samples: [] } as Tally },
    { bridge: on, tally: { cpuMs: 0, samples: [] } as Tally },
  ]
  try {
    ctx.step('warm-up: tracing off and on')
    for (const { bridge } of sides) await publish(bridge, warmupS)
    for (let round = 0; round < ROUNDS; round++) {
      ctx.step(`tracing off/on, round ${round + 1} of ${ROUNDS}, c=${c}`)
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const pid = side.bridge.pid!
        const before = cpuMs(pid)
        side.tally.samples.push(await publish(side.bridge, durationS / 2))
        side.tally.cpuMs += cpuMs(pid) - before
      }
    }
  } finally {
    await on.stop()
    await sink.close()
  }
  const [off, traced] = sides.map((side) => total(side.tally)) as [
    ReturnType<typeof total>,
    ReturnType<typeof total>,
  ]
  const ratio = traced.cpuMsPer1k / off.cpuMsPer1k
  ctx.step(
    `CPU per 1k publishes: off ${fmt(off.cpuMsPer1k, 1)} ms, on ${fmt(traced.cpuMsPer1k, 1)} ms (on/off ${fmt(ratio, 2)}×; ${sink.exports} OTLP exports)`,
  )
  ctx.rows.push(
    {
      id: 'tracing-off',
      scenario: 'CPU per 1k publishes: tracing off',
      concurrency: c,
      unit: 'ev',
      ...off,
    },
    {
      id: 'tracing-on',
      scenario: 'CPU per 1k publishes: tracing on (OTLP to a local sink)',
      concurrency: c,
      unit: 'ev',
      baseline: 'tracing-off',
      compare: 'rate',
      note: `CPU on/off ${fmt(ratio, 2)}×`,
      ...traced,
    },
  )
}
