import type { NatsConnection } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'
import { STREAM_NAME } from '../../shared/subjects'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import {
  entityRegistered,
  natsClient,
  type PublishResponse,
  postEvents,
  readStream,
} from './support/bridge-client'

const PUBLISH_TIMEOUT_MS = 1_500

interface Detailed {
  nats: { state: string; reconnects: number; attempts: number; server: string | null }
  stream: { ready: boolean }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const waitFor = async <T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const detailed = async (bridge: BridgeProcess) =>
  (await (await fetch(`${bridge.url}/health/detailed`)).json()) as Detailed

const startNats = async (port?: number) => {
  const nats = await startNatsServer(port === undefined ? {} : { port })
  cleanups.push(() => nats.cleanup())
  return nats
}

const startBridge = async (natsUrl: string, waitFor: 'health' | 'ready') => {
  const bridge = await startBridgeProcess({
    natsUrl,
    waitFor,
    env: { BRIDGE_PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS) },
  })
  cleanups.push(async () => {
    await bridge.stop()
  })
  return bridge
}

const client = async (nats: NatsServerHandle): Promise<NatsConnection> => {
  const nc = await natsClient(nats.url)
  cleanups.push(() => nc.close())
  return nc
}

describe('NATS outage while the bridge runs', () => {
  it('turns not-ready, refuses publishes with 503, then the same process recovers by itself', async () => {
    const nats = await startNats()
    const bridge = await startBridge(nats.url, 'ready')
    const pid = bridge.pid
    expect(pid).toBeDefined()

    const before = entityRegistered()
    const acked = await postEvents(bridge.url, before)
    expect(acked.status).toBe(202)

    await nats.kill()

    const notReady = await waitFor(async () => {
      const res = await fetch(`${bridge.url}/ready`)
      return res.status === 503
        ? ((await res.json()) as { error: { code: string; details: { reason: string } } })
        : undefined
    }, '/ready to turn 503')
    expect(notReady.error.code).toBe('not_ready')
    expect(notReady.error.details.reason).toMatch(/^nats_/)
    expect((await fetch(`${bridge.url}/health`)).status).toBe(200)

    const during = entityRegistered()
    const started = Date.now()
    const refused = await postEvents(bridge.url, during)
    const elapsed = Date.now() - started
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
    const refusal = (await refused.json()) as {
      error: { code: string; details: { results: Array<{ event_id: string; error: { code: string } }> } }
    }
    expect(refusal.error.code).toBe('nats_unavailable')
    expect(refusal.error.details.results).toEqual([
      { event_id: during.event_id, error: expect.objectContaining({ code: 'nats_unavailable' }) },
    ])
    expect(elapsed).toBeLessThan(PUBLISH_TIMEOUT_MS + 3_000)
    expect((await detailed(bridge)).nats.state).toBe('reconnecting')

    await nats.restart()
    await bridge.waitForReady()
    expect(bridge.pid).toBe(pid)

    const after = await postEvents(bridge.url, during)
    expect(after.status).toBe(202)
    expect(((await after.json()) as PublishResponse).results[0]?.duplicate).toBe(false)

    const nc = await client(nats)
    const ids = (await readStream(nc)).map((m) => m.headers?.get('Nats-Msg-Id'))
    expect(ids).toEqual([before.event_id, during.event_id])

    const state = await detailed(bridge)
    expect(state.nats).toMatchObject({ state: 'connected', reconnects: 1 })
    expect(state.stream.ready).toBe(true)
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text()
    expect(metrics).toContain('bridge_nats_reconnects_total 1')
    expect(metrics).toMatch(/bridge_events_published_total\{outcome="failed",event_type="any"\} 1/)
  })
})

describe('bridge started before NATS', () => {
  it('serves /health, stays not-ready while retrying, and becomes ready once NATS starts', async () => {
    const port = await getFreePort()
    const bridge = await startBridge(`nats://127.0.0.1:${port}`, 'health')

    const ready = await fetch(`${bridge.url}/ready`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe(
      'nats_disconnected',
    )
    const refused = await postEvents(bridge.url, entityRegistered())
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('nats_unavailable')

    const retrying = await waitFor(async () => {
      const state = await detailed(bridge)
      return state.nats.attempts >= 3 ? state : undefined
    }, 'several connection attempts')
    expect(retrying.nats.state).toBe('disconnected')

    const nats = await startNats(port)
    await bridge.waitForReady()
    const event = entityRegistered()
    const res = await postEvents(bridge.url, event)
    expect(res.status).toBe(202)
    const nc = await client(nats)
    expect((await readStream(nc)).map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual([event.event_id])
    expect((await detailed(bridge)).nats).toMatchObject({ state: 'connected', server: `127.0.0.1:${port}` })
  })
})

describe('stream deleted behind the bridge', () => {
  it('refuses with 503 and recreates the stream, so a retry of the same event is acked', async () => {
    const nats = await startNats()
    const bridge = await startBridge(nats.url, 'ready')
    const nc = await client(nats)
    const jsm = await nc.jetstreamManager()
    await jsm.streams.delete(STREAM_NAME)

    const event = entityRegistered()
    const refused = await postEvents(bridge.url, event)
    expect(refused.status).toBe(503)
    const body = (await refused.json()) as {
      error: { details: { results: Array<{ error: { code: string } }> } }
    }
    expect(body.error.details.results[0]?.error.code).toBe('stream_unavailable')

    const acked = await waitFor(async () => {
      const res = await postEvents(bridge.url, event)
      return res.status === 202 ? ((await res.json()) as PublishResponse) : undefined
    }, 'the stream to be recreated')
    expect(acked.results[0]).toMatchObject({ event_id: event.event_id, seq: 1, duplicate: false })
    expect((await jsm.streams.info(STREAM_NAME)).config.subjects).toHaveLength(16)
  })
})
