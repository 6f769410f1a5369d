import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STREAM_NAME } from '../../shared/subjects'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsCluster, startNatsCluster } from '../support/nats-server'
import { entityRegistered, natsClient, type PublishResponse, postEvents } from './helpers'

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const connectedServer = async (): Promise<string | null> => {
  const body = (await (await fetch(`${bridge.url}/health/detailed`)).json()) as {
    nats: { state: string; server: string | null }
  }
  return body.nats.state === 'connected' ? body.nats.server : null
}

/** What a producer does: retry the same event until the bridge reports its PubAck. */
const publishUntilAcked = async (event: ReturnType<typeof entityRegistered>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  let last = 0
  while (Date.now() < deadline) {
    const res = await postEvents(bridge.url, event)
    last = res.status
    if (res.status === 202) return (await res.json()) as PublishResponse
    expect(res.status).toBe(503)
    await res.arrayBuffer()
    await sleep(250)
  }
  throw new Error(`event not acknowledged within ${timeoutMs} ms (last status ${last})`)
}

/** Message ids in the stream, read one by one; retried while the cluster elects new leaders. */
const storedIds = async (nc: NatsConnection, timeoutMs = 60_000): Promise<Array<string | undefined>> => {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const jsm = await nc.jetstreamManager({ timeout: 2_000 })
      const { state } = await jsm.streams.info(STREAM_NAME)
      const ids: Array<string | undefined> = []
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        ids.push((await jsm.streams.getMessage(STREAM_NAME, { seq })).header.get('Nats-Msg-Id') || undefined)
      }
      return ids
    } catch (err) {
      lastError = err
      await sleep(500)
    }
  }
  throw new Error(`stream not readable within ${timeoutMs} ms: ${String(lastError)}`)
}

describe('three-node cluster, R3 stream', () => {
  it('fails over to another listed server when its server dies, without losing acked events', async () => {
    const before = entityRegistered()
    expect((await postEvents(bridge.url, before)).status).toBe(202)

    const server = await connectedServer()
    const victim = cluster.servers.find((s) => server === `127.0.0.1:${s.port}`)
    expect(victim).toBeDefined()
    await victim!.kill()

    const after = entityRegistered()
    const ack = await publishUntilAcked(after)
    expect(ack.results[0]).toMatchObject({ event_id: after.event_id, duplicate: false })
    const newServer = await connectedServer()
    expect(newServer).not.toBeNull()
    expect(newServer).not.toBe(server)

    const survivor = cluster.servers.find((s) => s !== victim)!
    const nc = await natsClient(survivor.url)
    try {
      expect(await storedIds(nc)).toEqual([before.event_id, after.event_id])
    } finally {
      await nc.close()
    }
    const detailed = (await (await fetch(`${bridge.url}/health/detailed`)).json()) as {
      nats: { reconnects: number }
      stream: { info: { replicas: number } }
    }
    expect(detailed.nats.reconnects).toBeGreaterThanOrEqual(1)
    expect(detailed.stream.info.replicas).toBe(3)
  }, 120_000)
})
