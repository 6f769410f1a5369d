import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../scripts/lib/stack/ports'
import { startTracing, tracingEnabled } from '../../../shared/telemetry/tracing'
import { startBridgeProcess } from '../../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../../support/nats-server'
import { type OtlpReceiver, startOtlpReceiver } from '../../support/otlp-receiver'
import { entityRegistered, postEvents } from '../support/bridge-client'

const REPORT = fileURLToPath(new URL('./support/report-otel-modules.mjs', import.meta.url))
const ENDPOINT = 'http://127.0.0.1:4318'

describe('tracing on or off', () => {
  it('is on only with an OTLP endpoint, unless the SDK or the trace exporter is disabled', () => {
    expect(tracingEnabled({})).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false)
    expect(tracingEnabled({ OTEL_SERVICE_NAME: 'bridge', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: 'false' })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_TRACES_EXPORTER: 'none' })).toBe(
      false,
    )
  })

  it('starts nothing without an endpoint', async () => {
    expect(await startTracing({}, { serviceName: 'test' })).toBeUndefined()
  })
})

describe('a bridge process', () => {
  let nats: NatsServerHandle
  let otlp: OtlpReceiver

  beforeAll(async () => {
    nats = await startNatsServer()
    otlp = await startOtlpReceiver()
  }, 60_000)

  afterAll(async () => {
    await otlp?.close()
    await nats?.cleanup()
  })

  /** Runs a bridge with `env`, publishes one event, stops it and reads how many SDK modules it loaded. */
  const sdkModulesLoaded = async (env: Record<string, string>): Promise<number> => {
    const bridge = await startBridgeProcess({
      natsUrl: nats.url,
      env: { NODE_OPTIONS: `--import=${REPORT}`, OTEL_BSP_SCHEDULE_DELAY: '50', ...env },
    })
    try {
      const res = await postEvents(bridge.url, entityRegistered())
      expect(res.status).toBe(202)
    } finally {
      await bridge.stop()
    }
    const report = bridge.logLines().find((line) => line.msg === 'opentelemetry sdk modules loaded')
    expect(report, bridge.output()).toBeDefined()
    return Number(report?.count)
  }

  it('loads no OpenTelemetry SDK module and exports nothing while no endpoint is set', async () => {
    expect(await sdkModulesLoaded({ OTEL_SERVICE_NAME: 'bridge-off' })).toBe(0)
    expect(
      await sdkModulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_SDK_DISABLED: 'true' }),
    ).toBe(0)
    expect(otlp.exports().count).toBe(0)
  })

  it('loads the SDK and exports over OTLP/HTTP JSON once an endpoint is set', async () => {
    expect(await sdkModulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint })).toBeGreaterThan(0)
    // stop() flushed the spans before the process exited.
    expect(otlp.spans().some((s) => s.service === 'library-bridge' && s.name === 'POST /v1/events')).toBe(
      true,
    )
    expect(otlp.exports().contentTypes.every((type) => type.startsWith('application/json'))).toBe(true)
  })

  it('logs a failed export instead of dropping it silently', async () => {
    const closed = await freePort()
    const bridge = await startBridgeProcess({
      natsUrl: nats.url,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    })
    try {
      expect((await postEvents(bridge.url, entityRegistered())).status).toBe(202)
      await bridge.waitForLog(
        (line) => line.component === 'otel' && /ECONNREFUSED|export/i.test(String(line.msg)),
      )
    } finally {
      await bridge.stop()
    }
  })
})
