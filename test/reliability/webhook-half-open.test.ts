import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LibraryEvent } from '../../shared/events'
import { ADMIN_TOKEN, healthDegraded, postEvents } from '../bridge/support/bridge-client'
import { Receiver } from '../bridge/support/receiver'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { sleep, waitFor } from './support/load'
import { report, scaled } from './support/report'

const HALF_OPEN_MS = scaled(4_000, 30_000)
const WEBHOOK_TIMEOUT_MS = 500
/** Enough attempts that nothing is dead-lettered while the link is half-open. */
const MAX_DELIVER = 100

let nats: NatsServerHandle
let bridge: BridgeProcess
let proxy: FaultProxy
let behind: Receiver
let direct: Receiver

beforeAll(async () => {
  nats = await startNatsServer()
  bridge = await startBridgeProcess({
    natsUrl: nats.url,
    waitFor: 'ready',
    env: {
      STREAM_STORAGE: 'memory',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
      WEBHOOK_ACK_WAIT_MS: '1500',
      WEBHOOK_BACKOFF_INITIAL_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '500',
    },
  })
  behind = await Receiver.start()
  direct = await Receiver.start()
  proxy = await startFaultProxy({ target: { port: behind.port } })
}, 60_000)

afterAll(async () => {
  await bridge?.stop()
  await proxy?.close()
  await behind?.close()
  await direct?.close()
  await nats?.cleanup()
})

const subscribe = (name: string, url: string) =>
  waitFor(async () => {
    const res = await fetch(`${bridge.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, subject: 'library.health.*', url, max_deliver: MAX_DELIVER }),
    })
    const text = await res.text()
    if (res.status === 503) return undefined
    expect(res.status, text).toBe(201)
    return true
  }, `subscription ${name}`)

const details = async (name: string) =>
  (await (
    await fetch(`${bridge.url}/v1/subscriptions/${name}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  ).json()) as {
    stats: { dead_letters: number; redelivered: number }
    last_error: { message: string; attempt: number } | null
  }

const idsOf = (r: Receiver) => r.deliveries.map((d) => d.id)

describe('webhook receiver half-open during delivery (fault proxy in front of it)', () => {
  it('per-delivery timeouts fire, the other subscription is unaffected, nothing is lost after the heal', async () => {
    await subscribe('behind-proxy', `http://${proxy.address}/hook`)
    await subscribe('direct', direct.url)
    const published: LibraryEvent[] = []
    const publish = async (n: number) => {
      const events = Array.from({ length: n }, () => healthDegraded())
      const res = await postEvents(bridge.url, { events })
      expect(res.status).toBe(202)
      published.push(...events)
    }
    const got = (r: Receiver, events: LibraryEvent[]) => {
      const ids = new Set(idsOf(r))
      return events.every((e) => ids.has(e.event_id))
    }

    await publish(10)
    await waitFor(
      async () => (got(behind, published) && got(direct, published) ? true : undefined),
      'warm-up',
    )

    const blackholedAt = Date.now()
    proxy.blackhole()
    const duringStart = published.length
    for (let i = 0; i < 5; i++) {
      await publish(4)
      await sleep(200)
    }
    const during = published.slice(duringStart)
    // the direct receiver gets what was published meanwhile, while the other link is still half-open
    await waitFor(
      async () => (got(direct, during) ? true : undefined),
      'the direct receiver to get every event',
    )
    const directCaughtUpMs = Date.now() - blackholedAt
    const stuck = await waitFor(async () => {
      const d = await details('behind-proxy')
      return d.last_error ? d : undefined
    }, 'a failed delivery to be recorded for the half-open receiver')
    const behindDuring = during.filter((e) => idsOf(behind).includes(e.event_id)).length
    const remaining = HALF_OPEN_MS - (Date.now() - blackholedAt)
    if (remaining > 0) await sleep(remaining)
    const attemptsWhileHalfOpen = proxy.stats.accepted
    const healedAt = Date.now()
    proxy.heal()
    await publish(10)
    const recovered = await waitFor(
      async () => (got(behind, published) && got(direct, published) ? Date.now() : undefined),
      'both receivers to have every event after the heal',
    )
    const after = await details('behind-proxy')
    const ids = published.map((e) => e.event_id)
    const copies = (r: Receiver) => idsOf(r).length - new Set(idsOf(r)).size
    report({
      scenario: '15 webhook receiver half-open',
      sent: published.length,
      acked: published.length,
      received: new Set(idsOf(behind)).size,
      lost: ids.filter((id) => !idsOf(behind).includes(id)).length,
      duplicated: copies(behind),
      recovery_ms: recovered - healedAt,
      notes: {
        half_open_ms: HALF_OPEN_MS,
        webhook_timeout_ms: WEBHOOK_TIMEOUT_MS,
        connections_through_proxy: attemptsWhileHalfOpen,
        last_error: `${stuck.last_error?.message} (attempt ${stuck.last_error?.attempt})`,
        redelivered: after.stats.redelivered,
        dead_letters: after.stats.dead_letters,
        direct_caught_up_ms: directCaughtUpMs,
        direct_duplicates: copies(direct),
        behind_got_while_half_open: behindDuring,
      },
    })
    // the receiver behind the half-open link got nothing meanwhile: every attempt timed out
    expect(behindDuring).toBe(0)
    expect(stuck.last_error?.message).toMatch(/time/i)
    expect(after.stats.dead_letters).toBe(0)
    expect(ids.filter((id) => !idsOf(behind).includes(id))).toEqual([])
    expect(ids.filter((id) => !idsOf(direct).includes(id))).toEqual([])
  }, 120_000)
})
