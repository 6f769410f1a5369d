import { connect, type JetStreamClient, type NatsConnection } from 'nats'
import { afterAll, beforeAll } from 'vitest'
import {
  type BridgeProcess,
  type BridgeProcessOptions,
  startBridgeProcess,
} from '../../support/bridge-process'
import { type InProcessBridge, startInProcessBridge } from '../../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { natsClient } from './bridge-client'

export interface BridgeOnNats {
  nats: NatsServerHandle
  bridge: BridgeProcess
  /** A client of the same nats-server, for the test's own subscribers and stream reads. */
  nc: NatsConnection
}

/**
 * A nats-server and a ready bridge process on it, started before the file's tests and stopped after
 * them. The fields are set once `beforeAll` has run: read them inside hooks and tests.
 */
export const bridgeOnNats = (
  options: Omit<BridgeProcessOptions, 'natsUrl' | 'waitFor'> = {},
): BridgeOnNats => {
  const running = {} as BridgeOnNats
  beforeAll(async () => {
    running.nats = await startNatsServer()
    running.bridge = await startBridgeProcess({ ...options, natsUrl: running.nats.url, waitFor: 'ready' })
    running.nc = await natsClient(running.nats.url)
  })
  afterAll(async () => {
    await running.nc?.close()
    await running.bridge?.stop()
    await running.nats?.cleanup()
  })
  return running
}

export interface InProcessBridgeOnNats {
  nats: NatsServerHandle
  bridge: InProcessBridge
  nc: NatsConnection
  js: JetStreamClient
}

/** As `bridgeOnNats`, with the bridge in this process (its metrics in reach) and its stream ready. */
export const inProcessBridgeOnNats = (env: Record<string, string> = {}): InProcessBridgeOnNats => {
  const running = {} as InProcessBridgeOnNats
  beforeAll(async () => {
    running.nats = await startNatsServer()
    running.bridge = await startInProcessBridge(running.nats.url, env)
    running.nc = await connect({ servers: running.nats.url })
    running.js = running.nc.jetstream()
  }, 60_000)
  afterAll(async () => {
    await running.nc?.close()
    await running.bridge?.stop()
    await running.nats?.cleanup()
  })
  return running
}
