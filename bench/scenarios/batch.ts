import type { BenchContext } from '../lib/context'
import { batchJson, EVENT_SUBJECT, eventJson } from '../lib/events'
import { cannon } from '../lib/http'
import { runLoops } from '../lib/measure'
import { withCpu } from '../lib/resources'

export const BATCH_SIZE = Number(process.env.BENCH_BATCH ?? 100)
const BATCH_CONCURRENCY = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 4)

/** Batches of BATCH_SIZE: direct pipelined js.publish vs one bridge request per batch. */
export const batchScenario = async (ctx: BenchContext) => {
  const { js, bridge, durationS, warmupS } = ctx
  const c = BATCH_CONCURRENCY
  const direct = async () => {
    const acks = await Promise.all(
      Array.from({ length: BATCH_SIZE }, () => {
        const e = eventJson()
        return js.publish(EVENT_SUBJECT, e.json, { msgID: e.id })
      }),
    )
    return acks.length
  }
  const viaBridge = (seconds: number) =>
    cannon({
      url: `${bridge.url}/v1/events`,
      token: ctx.token,
      connections: c,
      durationS: seconds,
      body: () => batchJson(BATCH_SIZE),
      perRequest: BATCH_SIZE,
    })

  ctx.step('warm-up: batches')
  await runLoops(c, warmupS, direct)
  await viaBridge(warmupS)

  ctx.step(`batch: direct pipelined ${BATCH_SIZE}, c=${c}`)
  ctx.rows.push({
    id: 'batch-direct',
    scenario: `batch of ${BATCH_SIZE}: direct pipelined js.publish`,
    concurrency: c,
    unit: 'ev',
    ...(await runLoops(c, durationS, direct)),
  })
  ctx.step(`batch: bridge ${BATCH_SIZE}/request, c=${c}`)
  ctx.rows.push({
    id: 'batch-bridge',
    scenario: `batch of ${BATCH_SIZE}/request: bridge`,
    concurrency: c,
    unit: 'ev',
    baseline: 'batch-direct',
    compare: 'rate',
    ...(await withCpu(bridge.pid, () => viaBridge(durationS))),
  })
}
