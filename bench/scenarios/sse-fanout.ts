import { type ClientRequest, request as httpRequest } from 'node:http'
import { connect } from 'nats'
import type { BenchContext } from '../lib/context'
import { sleep, summarize } from '../lib/measure'
import { withCpu } from '../lib/resources'

const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 500)
/** Events per second published to the fan-out subject (each reaches every client). */
const RATE = Number(process.env.BENCH_SSE_RATE ?? 100)
const SUBJECT = 'bench.fanout'
const DRAIN_MS = 1_000

/** Publishes `{"t": performance.now()}` at RATE per second for `seconds`; returns how many. */
const publishAtRate = async (ctx: BenchContext, seconds: number): Promise<number> => {
  const started = performance.now()
  let sent = 0
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE)
    for (; sent < due; sent++) ctx.nc.publish(SUBJECT, `{"t":${performance.now()}}`)
    await sleep(5)
  }
  await ctx.nc.flush()
  return sent
}

interface Receiver {
  latencies: number[]
  received: number
  measuring: boolean
}

const onPayload = (r: Receiver, json: string) => {
  if (!r.measuring) return
  r.received++
  r.latencies.push(performance.now() - (JSON.parse(json) as { t: number }).t)
}

/** Opens one SSE stream; resolves once the `retry:` preamble arrived. */
const openClient = (url: string, token: string, r: Receiver, closed: () => void): Promise<ClientRequest> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { authorization: `Bearer ${token}` } })
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE answered ${res.statusCode}`))
        res.resume()
        return
      }
      res.setEncoding('utf8')
      let buffer = ''
      let opened = false
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end = buffer.indexOf('\n\n')
        while (end !== -1) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (!opened && frame.startsWith('retry:')) {
            opened = true
            resolve(req)
          }
          const data = frame.indexOf('data: ')
          if (data !== -1) onPayload(r, frame.slice(data + 6, frame.indexOf('\n', data) >>> 0))
          end = buffer.indexOf('\n\n')
        }
      })
      res.on('close', closed)
    })
    req.on('error', reject)
    req.end()
  })

/** SSE fan-out to CLIENTS streams vs one direct core subscriber, at the same publish rate. */
export const sseFanoutScenario = async (ctx: BenchContext) => {
  const { durationS, bridge } = ctx

  ctx.step(`sse: direct core subscriber at ${RATE} ev/s`)
  const direct: Receiver = { latencies: [], received: 0, measuring: false }
  const sub = await connect({ servers: ctx.natsUrl })
  sub.subscribe(SUBJECT, { callback: (_err, m) => onPayload(direct, m.string()) })
  await sub.flush()
  direct.measuring = true
  const sentDirect = await publishAtRate(ctx, durationS)
  await sleep(DRAIN_MS)
  direct.measuring = false
  await sub.close()
  ctx.rows.push({
    id: 'sse-direct',
    scenario: 'fan-out: one direct core subscriber',
    concurrency: 1,
    unit: 'ev',
    note: `${sentDirect} published, ${direct.received} received`,
    ...summarize(direct.latencies, direct.received, durationS),
  })

  ctx.step(`sse: opening ${CLIENTS} SSE streams`)
  const r: Receiver = { latencies: [], received: 0, measuring: false }
  let cut = 0
  const clients: ClientRequest[] = []
  const url = `${bridge.url}/v1/subscribe?subject=${SUBJECT}`
  try {
    for (let i = 0; i < CLIENTS; i += 50) {
      const wave = Array.from({ length: Math.min(50, CLIENTS - i) }, () =>
        openClient(url, ctx.token, r, () => cut++),
      )
      clients.push(...(await Promise.all(wave)))
    }
    ctx.step(`sse: ${CLIENTS} streams at ${RATE} ev/s`)
    const sample = await withCpu(bridge.pid, async () => {
      r.measuring = true
      const sent = await publishAtRate(ctx, durationS)
      await sleep(DRAIN_MS)
      r.measuring = false
      return { sent, ...summarize(r.latencies, r.received, durationS) }
    })
    const expected = sample.sent * CLIENTS
    ctx.rows.push({
      id: 'sse-bridge',
      scenario: `fan-out: ${CLIENTS} SSE clients via bridge`,
      concurrency: CLIENTS,
      unit: 'deliveries',
      baseline: 'sse-direct',
      compare: 'latency',
      note: `${((sample.count / expected) * 100).toFixed(1)}% of ${expected} delivered, ${cut} streams cut`,
      ...sample,
    })
  } finally {
    for (const req of clients) req.destroy()
  }
}
