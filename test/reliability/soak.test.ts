import { readFileSync } from 'node:fs'
import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import { entityRegistered, type PublishResponse, postEvents } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { sleep } from './support/load'
import { report, SOAK, scaled } from './support/report'

const DURATION_MS = scaled(8_000, 5 * 60_000)
const SAMPLE_MS = scaled(250, 2_000)
/** Samples before this share of the run are the warm-up (JIT, heap sizing) and are left out. */
const WARM_UP = 0.3
const PRODUCERS = scaled(2, 4)
const BATCH = 10
/** The long run is a steady load (about 2,000 events/s), the short one as fast as it goes. */
const PACE_MS = scaled(0, 20)

let nats: NatsServerHandle
let bridge: BridgeProcess

beforeAll(async () => {
  nats = await startNatsServer()
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: { STREAM_STORAGE: SOAK ? 'file' : 'memory' },
  })
}, 60_000)

afterAll(async () => {
  await bridge?.stop()
  await nats?.cleanup()
})

const rssBytes = (pid: number) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1]) * 1024
}

const metric = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : Number.NaN
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** Least-squares slope of y over x. */
const slope = (points: Array<[number, number]>) => {
  const n = points.length
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

const MiB = 1024 * 1024

describe('soak: the bridge under steady publish load', () => {
  it(
    `publishes for ${DURATION_MS / 1000} s with bounded RSS and event-loop lag, losing nothing`,
    async () => {
      const pid = bridge.pid!
      const acked = new Set<string>()
      const seqs = new Set<number>()
      let sent = 0
      let refused = 0
      const started = Date.now()
      const running = () => Date.now() - started < DURATION_MS

      const producer = async () => {
        while (running()) {
          const events = Array.from({ length: BATCH }, () => entityRegistered())
          sent += events.length
          const res = await postEvents(bridge.url, { events })
          if (res.status !== 202) {
            await res.arrayBuffer()
            refused += events.length
            continue
          }
          for (const r of ((await res.json()) as PublishResponse).results) {
            acked.add(r.event_id)
            if (!r.duplicate) seqs.add(r.seq)
          }
          if (PACE_MS > 0) await sleep(PACE_MS)
        }
      }
      const samples: Array<{ t: number; rss: number; lagP99: number }> = []
      const sampler = async () => {
        while (running()) {
          await sleep(SAMPLE_MS)
          const text = await (await fetch(`${bridge.url}/metrics`)).text()
          samples.push({
            t: Date.now() - started,
            rss: rssBytes(pid),
            lagP99: metric(text, 'nodejs_eventloop_lag_p99_seconds'),
          })
        }
      }
      await Promise.all([sampler(), ...Array.from({ length: PRODUCERS }, producer)])

      const steady = samples.filter((s) => s.t >= DURATION_MS * WARM_UP)
      const fifth = Math.max(1, Math.floor(steady.length / 5))
      const startRss = median(steady.slice(0, fifth).map((s) => s.rss))
      const endRss = median(steady.slice(-fifth).map((s) => s.rss))
      const slopeMiBPerMin = (slope(steady.map((s) => [s.t, s.rss])) * 60_000) / MiB
      const maxLagMs = Math.max(...samples.map((s) => s.lagP99 * 1000))

      // Every ack carries its own stream sequence; the stream holding exactly those is the no-loss proof
      // without reading tens of thousands of messages back.
      const nc = await connect({ servers: nats.url })
      const { state } = await (await nc.jetstreamManager()).streams.info(STREAM_NAME)
      await nc.close()
      const inRange = [...seqs].filter((seq) => seq >= state.first_seq && seq <= state.last_seq).length
      const lost = acked.size - inRange
      report({
        scenario: '9 soak',
        sent,
        acked: acked.size,
        received: state.messages,
        lost,
        duplicated: state.messages - seqs.size,
        recovery_ms: null,
        notes: {
          duration_s: DURATION_MS / 1000,
          events_per_s: Math.round(acked.size / (DURATION_MS / 1000)),
          rss_start_mib: (startRss / MiB).toFixed(1),
          rss_end_mib: (endRss / MiB).toFixed(1),
          rss_slope_mib_per_min: slopeMiBPerMin.toFixed(2),
          max_loop_lag_p99_ms: maxLagMs.toFixed(1),
          samples: samples.length,
        },
      })
      expect(refused).toBe(0)
      expect(seqs.size).toBe(acked.size)
      expect(lost).toBe(0)
      expect(state.messages).toBe(acked.size)
      expect(state.num_deleted ?? 0).toBe(0)
      expect(steady.length).toBeGreaterThanOrEqual(5)
      // growth beyond noise: the steady-state end may not exceed its start by more than half
      expect(endRss).toBeLessThan(startRss * 1.5)
    },
    SOAK ? 900_000 : 120_000,
  )
})
