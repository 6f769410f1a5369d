import type { BenchContext } from './context'
import { cannonGet } from './http'
import { withCpu } from './resources'

/**
 * `bridge-hello`: `GET /health` on the bridge (no NATS, no auth), from the same autocannon client
 * and concurrency as the publish and relay rows: what the bridge's HTTP stack alone can answer.
 * Measured once per run, by whichever of those scenarios runs first.
 */
export const measureBridgeHello = async (ctx: BenchContext) => {
  if (ctx.rows.some((r) => r.id === 'bridge-hello')) return
  const url = `${ctx.bridge.url}/health`
  await cannonGet({ url, connections: ctx.concurrency, durationS: ctx.warmupS })
  ctx.step(`bridge: GET /health, c=${ctx.concurrency}`)
  ctx.rows.push({
    id: 'bridge-hello',
    scenario: 'bridge GET /health (HTTP stack alone)',
    concurrency: ctx.concurrency,
    unit: 'req',
    ...(await withCpu(ctx.bridge.pid, () =>
      cannonGet({ url, connections: ctx.concurrency, durationS: ctx.durationS }),
    )),
  })
}
