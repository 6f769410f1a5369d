import { randomUUID } from 'node:crypto'
import type { BenchContext } from '../lib/context'
import { measureBridgeHello } from '../lib/hello'
import { cannon, keepAlivePoster } from '../lib/http'
import { runLoops } from '../lib/measure'
import { withCpu } from '../lib/resources'
import { startResponder } from '../lib/responder'

const SUBJECT = 'bench.echo'

/**
 * Request/reply: native nc.request() vs POST /v1/request/{subject}, at c=1 (latency) and c=N
 * (throughput, held against the composed limit of `bridge-hello` and `relay-native-n`).
 */
export const relayScenario = async (ctx: BenchContext) => {
  const { nc, bridge, durationS, warmupS, concurrency } = ctx
  const responder = await startResponder(ctx.natsUrl, SUBJECT)
  const poster = keepAlivePoster(ctx.token)
  const url = `${bridge.url}/v1/request/${SUBJECT}`
  const payload = JSON.stringify({
    from_entity_id: randomUUID(),
    to_entity_id: randomUUID(),
    reason: 'bench',
  })
  const native = async () => {
    await nc.request(SUBJECT, payload, { timeout: 5_000 })
    return 1
  }
  try {
    ctx.step('warm-up: relay')
    await runLoops(1, warmupS, native)
    await runLoops(1, warmupS, () => poster.post(url, payload))

    ctx.step('relay: native nc.request, c=1')
    ctx.rows.push({
      id: 'relay-native-1',
      scenario: 'request/reply: native nc.request()',
      concurrency: 1,
      unit: 'req',
      ...(await runLoops(1, durationS, native)),
    })
    ctx.step('relay: bridge, c=1')
    ctx.rows.push({
      id: 'relay-bridge-1',
      scenario: 'request/reply: bridge relay',
      concurrency: 1,
      unit: 'req',
      baseline: 'relay-native-1',
      compare: 'latency',
      ...(await withCpu(bridge.pid, () => runLoops(1, durationS, () => poster.post(url, payload)))),
    })

    await measureBridgeHello(ctx)
    ctx.step(`relay: native nc.request, c=${concurrency}`)
    ctx.rows.push({
      id: 'relay-native-n',
      scenario: 'request/reply: native nc.request()',
      concurrency,
      unit: 'req',
      ...(await runLoops(concurrency, durationS, native)),
    })
    ctx.step(`relay: bridge, c=${concurrency}`)
    ctx.rows.push({
      id: 'relay-bridge-n',
      scenario: 'request/reply: bridge relay',
      concurrency,
      unit: 'req',
      baseline: 'relay-native-n',
      compare: 'rate',
      limit: { hello: 'bridge-hello', direct: 'relay-native-n' },
      ...(await withCpu(bridge.pid, () =>
        cannon({ url, token: ctx.token, connections: concurrency, durationS, body: () => payload }),
      )),
    })
  } finally {
    poster.close()
    responder.kill('SIGTERM')
  }
}
