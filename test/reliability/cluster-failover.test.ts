import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import { entityRegistered, postEvents } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsCluster, startNatsCluster } from '../support/nats-server'
import { sleep, waitFor } from './support/load'
import { report, SOAK, scaled, tally } from './support/report'
import { streamEvents } from './support/stream'

const KILLS = scaled(3, 10)
const PRODUCERS = 4

let cluster: NatsCluster
let bridge: BridgeProcess

beforeAll(async () => {
  cluster = await startNatsCluster(3)
  bridge = await startBridgeProcess({
    natsUrl: cluster.urls,
    waitFor: 'ready',
    env: { STREAM_REPLICAS: '3', BRIDGE_PUBLISH_TIMEOUT_MS: '3000' },
  })
}, 120_000)

afterAll(async () => {
  await bridge?.stop()
  await cluster?.cleanup()
})

const connectedServer = async (): Promise<string | null> => {
  const body = (await (await fetch(`${bridge.url}/health/detailed`)).json()) as {
    nats: { state: string; server: string | null }
  }
  return body.nats.state === 'connected' ? body.nats.server : null
}

/** Until every replica of the stream is current again (a restarted node has caught up). */
const waitForReplicasCurrent = async () => {
  const nc = await connect({ servers: cluster.urls })
  try {
    await waitFor(
      async () => {
        const jsm = await nc.jetstreamManager({ timeout: 2_000 })
        const info = await jsm.streams.info(STREAM_NAME)
        const replicas = info.cluster?.replicas ?? []
        return info.cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current && !r.offline)
          ? true
          : undefined
      },
      'all stream replicas to be current',
      60_000,
      250,
    )
  } finally {
    await nc.close()
  }
}

describe('3-node cluster, R3 stream, bridge given all three URLs', () => {
  it(
    `kill -9 the node the bridge is connected to, ${KILLS} times under load: fails over, 0 acked events lost`,
    async () => {
      const acked: string[] = []
      const ackTimes: number[] = []
      const firstSent: number[] = []
      let sent = 0
      let refused = 0
      let running = true

      // What a producer does: retry the same event until the bridge reports its PubAck.
      const producer = async () => {
        while (running) {
          const event = entityRegistered()
          sent++
          const sentAt = Date.now()
          for (;;) {
            const res = await postEvents(bridge.url, event).catch(() => undefined)
            if (res?.status === 202) {
              await res.arrayBuffer()
              acked.push(event.event_id)
              ackTimes.push(Date.now())
              firstSent.push(sentAt)
              break
            }
            if (res) expect(res.status).toBe(503)
            await res?.arrayBuffer()
            refused++
            await sleep(100)
          }
        }
      }
      const producers = Array.from({ length: PRODUCERS }, producer)

      const recoveries: number[] = []
      const victims: string[] = []
      try {
        for (let kill = 0; kill < KILLS; kill++) {
          await sleep(1_000)
          const server = await waitFor(async () => (await connectedServer()) ?? undefined, 'a connection')
          const victim = cluster.servers.find((s) => server === `127.0.0.1:${s.port}`)
          expect(victim).toBeDefined()
          victims.push(server)
          const killedAt = Date.now()
          await victim!.kill()
          await waitFor(
            async () => (firstSent.some((t) => t > killedAt) ? true : undefined),
            'an event sent after the kill to be acked',
          )
          // the first event sent after the kill that got its PubAck
          recoveries.push(Math.min(...ackTimes.filter((_, i) => firstSent[i]! > killedAt)) - killedAt)
          expect(await connectedServer()).not.toBe(server)
          await victim!.restart()
          await waitForReplicasCurrent()
        }
      } finally {
        running = false
        await Promise.all(producers)
      }

      const received = (await streamEvents(cluster.urls)).map((m) => m.msgId)
      const figures = tally(acked, received)
      const gaps = ackTimes
        .slice()
        .sort((a, b) => a - b)
        .map((t, i, all) => (i === 0 ? 0 : t - all[i - 1]!))
      report({
        scenario: '3 cluster failover',
        sent,
        acked: acked.length,
        received: figures.received,
        lost: figures.lost,
        duplicated: figures.duplicated,
        recovery_ms: Math.max(...recoveries),
        notes: {
          kills: KILLS,
          longest_publish_gap_ms: Math.max(...gaps),
          refused_503: refused,
          distinct_victims: new Set(victims).size,
        },
      })
      expect(figures.missing).toEqual([])
      expect(figures.duplicated).toBe(0)
      expect(received.length).toBe(acked.length)
      expect(acked.length).toBeGreaterThan(KILLS * PRODUCERS)
    },
    SOAK ? 900_000 : 180_000,
  )
})
