import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LibraryEvent } from '../../shared/events'
import { entityRegistered, jsonHeaders } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type FaultProxy, startFaultProxy, targetOf } from '../support/fault-proxy'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { sleep, waitFor } from './support/load'
import { report, SOAK, scaled, tally } from './support/report'
import { streamEvents } from './support/stream'

/** How long the link stays half-open. */
const HALF_OPEN_MS = scaled(3_000, 30_000)
const PUBLISH_TIMEOUT_MS = 2_000
const PING_INTERVAL_MS = 500
const MAX_PINGS_OUT = 2
const WORKERS = 4
const BATCH = 2
/** What the network stack and a loaded machine may add to an answer on top of the publish deadline. */
const ANSWER_SLACK_MS = 1_500

let nats: NatsServerHandle
let proxy: FaultProxy
let bridge: BridgeProcess

beforeAll(async () => {
  nats = await startNatsServer()
  proxy = await startFaultProxy({ target: targetOf(nats.url) })
  bridge = await startBridgeProcess({
    natsUrl: `nats://${proxy.address}`,
    waitFor: 'ready',
    env: {
      BRIDGE_PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS),
      NATS_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
      NATS_MAX_PINGS_OUT: String(MAX_PINGS_OUT),
      NATS_CONNECT_TIMEOUT_MS: '1000',
    },
  })
}, 60_000)

afterAll(async () => {
  await bridge?.stop()
  await proxy?.close()
  await nats?.cleanup()
})

interface Answer {
  status: number
  code: string | undefined
  retryAfter: string | null
  startedAt: number
  endedAt: number
  ids: string[]
}

/** Publishes batches from `WORKERS` loops until `stop` is set; every answer is kept. */
const publishLoad = () => {
  const answers: Answer[] = []
  const sent: string[] = []
  let stopped = false
  const worker = async () => {
    while (!stopped) {
      const events: LibraryEvent[] = Array.from({ length: BATCH }, () => entityRegistered())
      const ids = events.map((e) => e.event_id)
      sent.push(...ids)
      const startedAt = Date.now()
      let status = 0
      let code: string | undefined
      let retryAfter: string | null = null
      try {
        const res = await fetch(`${bridge.url}/v1/events`, {
          method: 'POST',
          headers: jsonHeaders(),
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(30_000),
        })
        status = res.status
        retryAfter = res.headers.get('retry-after')
        const body = (await res.json().catch(() => undefined)) as { error?: { code?: string } } | undefined
        code = body?.error?.code
      } catch {
        status = 0
      }
      answers.push({ status, code, retryAfter, startedAt, endedAt: Date.now(), ids })
      await sleep(status === 202 ? 25 : 250)
    }
  }
  const running = Promise.all(Array.from({ length: WORKERS }, worker))
  return {
    answers,
    sent,
    stop: async () => {
      stopped = true
      await running
    },
  }
}

const natsState = async () => {
  const res = await fetch(`${bridge.url}/health/detailed`, { signal: AbortSignal.timeout(2_000) })
  return ((await res.json()) as { nats: { state: string } }).nats.state
}

/**
 * Load, then the link bridge ↔ NATS half-open for HALF_OPEN_MS, then healed; `shape` sets the
 * link's latency or bandwidth for the whole run.
 */
const halfOpen = async (scenario: string, shape: () => void) => {
  proxy.heal()
  proxy.latency(0)
  proxy.bandwidth(null)
  shape()
  await waitFor(async () => ((await natsState()) === 'connected' ? true : undefined), 'NATS connected')
  const load = publishLoad()
  await sleep(500)

  const blackholedAt = Date.now()
  proxy.blackhole()
  let noticedAt: number | undefined
  while (Date.now() - blackholedAt < HALF_OPEN_MS) {
    if (noticedAt === undefined && (await natsState().catch(() => 'unreachable')) !== 'connected')
      noticedAt = Date.now()
    await sleep(100)
  }
  const healedAt = Date.now()
  proxy.heal()
  const recovered = await waitFor(
    async () => load.answers.find((a) => a.status === 202 && a.startedAt >= healedAt)?.endedAt ?? undefined,
    'a publish acknowledged after the heal',
    60_000,
  )
  await sleep(500)
  await load.stop()

  const acked = load.answers.filter((a) => a.status === 202).flatMap((a) => a.ids)
  const sentSet = new Set(load.sent)
  const stored = (await streamEvents(nats.url)).filter((m) => sentSet.has(m.msgId)).map((m) => m.msgId)
  const figures = tally(acked, stored)
  const during = load.answers.filter((a) => a.startedAt >= blackholedAt && a.startedAt < healedAt)
  const refusals = load.answers.filter((a) => a.status !== 202)
  const slowest = Math.max(...load.answers.map((a) => a.endedAt - a.startedAt))
  const codes = new Map<string, number>()
  for (const a of refusals) codes.set(`${a.status}:${a.code}`, (codes.get(`${a.status}:${a.code}`) ?? 0) + 1)
  report({
    scenario,
    sent: load.sent.length,
    acked: acked.length,
    received: figures.received,
    lost: figures.lost,
    duplicated: figures.duplicated,
    recovery_ms: recovered - healedAt,
    notes: {
      half_open_ms: HALF_OPEN_MS,
      noticed_ms: noticedAt === undefined ? 'never' : noticedAt - blackholedAt,
      ping: `${PING_INTERVAL_MS}x${MAX_PINGS_OUT}`,
      answers_while_half_open: during.length,
      refused: [...codes].map(([k, n]) => `${k}x${n}`).join(',') || 'none',
      stored_unacked: figures.received - new Set(acked).size,
      slowest_answer_ms: slowest,
    },
  })
  // the bridge noticed the dead link within the ping settings' bound
  expect(noticedAt).toBeDefined()
  // callers got answers, not hangs: 202 or 503 with Retry-After, never past the publish deadline
  expect(refusals.filter((a) => a.status !== 503)).toEqual([])
  expect(refusals.filter((a) => !a.retryAfter)).toEqual([])
  expect(during.length).toBeGreaterThan(0)
  expect(slowest).toBeLessThanOrEqual(PUBLISH_TIMEOUT_MS + ANSWER_SLACK_MS)
  expect(figures.missing).toEqual([])
  expect(figures.duplicated).toBe(0)
}

describe(`bridge ↔ NATS half-open for ${HALF_OPEN_MS / 1000} s under publish load (fault proxy)`, {
  timeout: SOAK ? 300_000 : 60_000,
}, () => {
  it('plain link: noticed by the pings, callers get 503 + Retry-After, nothing acked is lost', async () => {
    await halfOpen('11 half-open bridge↔NATS', () => {})
  })

  it('with 200 ms added each way', async () => {
    await halfOpen('11 half-open bridge↔NATS +200 ms', () => proxy.latency(200))
  })

  it('throttled to 64 KiB/s', async () => {
    await halfOpen('11 half-open bridge↔NATS 64 KiB/s', () => proxy.bandwidth(64 * 1024))
  })
})
