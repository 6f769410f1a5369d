import { connect } from 'nats'
import type { BenchContext } from '../lib/context'
import { cannonEvents, EVENT_SUBJECT, eventJson } from '../lib/events'
import { measureBridgeHello } from '../lib/hello'
import { runLoops } from '../lib/measure'
import { withCpu } from '../lib/resources'

/**
 * One event per call: direct js.publish, bridge POST /v1/events, and a fresh connection per event.
 * The bridge row is held against the composed limit of `bridge-hello` and `publish-direct`.
 */
export const publishScenario = async (ctx: BenchContext) => {
  const { js, bridge, concurrency: c, durationS, warmupS } = ctx
  const direct = async () => {
    const e = eventJson()
    await js.publish(EVENT_SUBJECT, e.json, { msgID: e.id })
    return 1
  }
  const viaBridge = (seconds: number) => cannonEvents(bridge.url, ctx.token, c, seconds)

  ctx.step('warm-up: direct and bridge publish')
  await runLoops(c, warmupS, direct)
  await viaBridge(warmupS)
  await measureBridgeHello(ctx)

  ctx.step(`publish: direct js.publish, c=${c}`)
  ctx.rows.push({
    id: 'publish-direct',
    scenario: 'publish 1 event: direct js.publish',
    concurrency: c,
    unit: 'ev',
    ...(await runLoops(c, durationS, direct)),
  })
  ctx.step(`publish: bridge POST /v1/events, c=${c}`)
  ctx.rows.push({
    id: 'publish-bridge',
    scenario: 'publish 1 event/request: bridge',
    concurrency: c,
    unit: 'ev',
    baseline: 'publish-direct',
    compare: 'rate',
    limit: { hello: 'bridge-hello', direct: 'publish-direct' },
    ...(await withCpu(bridge.pid, () => viaBridge(durationS))),
  })

  ctx.step(`publish: connect → publish → close per event, c=${c}`)
  ctx.rows.push({
    id: 'publish-connect-each',
    scenario: 'publish 1 event: fresh connection per event',
    concurrency: c,
    unit: 'ev',
    baseline: 'publish-bridge',
    compare: 'rate',
    ...(await runLoops(c, durationS, async () => {
      const nc = await connect({ servers: ctx.natsUrl, reconnect: false })
      try {
        const e = eventJson()
        await nc.jetstream().publish(EVENT_SUBJECT, e.json, { msgID: e.id })
      } finally {
        await nc.close()
      }
      return 1
    })),
  })
}
