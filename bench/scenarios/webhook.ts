import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { AckPolicy, DeliverPolicy } from 'nats'
import { STREAM_NAME } from '../../shared/subjects'
import type { BenchContext } from '../lib/context'
import { eventJson } from '../lib/events'
import { sleep, summarize } from '../lib/measure'
import { withCpu } from '../lib/resources'

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 5_000)
const IN_FLIGHT = Number(process.env.BENCH_WEBHOOK_IN_FLIGHT ?? 32)
const DIRECT_SUBJECT = 'library.health.degraded'
const WEBHOOK_SUBJECT = 'library.health.recovered'
const TIMEOUT_MS = 120_000

const landed = () =>
  existsSync(fileURLToPath(new URL('../../bridge/subscriptions/worker.ts', import.meta.url)))

/** Publishes EVENTS events pipelined, noting when each was sent (performance clock). */
const publishAll = async (ctx: BenchContext, subject: string, sentAt: Map<string, number>) => {
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < EVENTS; i++) {
    const e = eventJson()
    sentAt.set(e.id, performance.now())
    pending.push(ctx.js.publish(subject, e.json, { msgID: e.id }))
    if (pending.length >= 500) await Promise.all(pending.splice(0))
  }
  await Promise.all(pending)
}

/** Waits until `received()` reaches EVENTS, or fails after TIMEOUT_MS. */
const until = async (received: () => number) => {
  const deadline = performance.now() + TIMEOUT_MS
  while (received() < EVENTS) {
    if (performance.now() > deadline) throw new Error(`only ${received()} of ${EVENTS} arrived`)
    await sleep(20)
  }
}

/** Webhook push to a local receiver vs a direct durable consumer fetching the same number of events. */
export const webhookScenario = async (ctx: BenchContext) => {
  if (!landed()) {
    ctx.step('webhook: bridge/subscriptions is not there, row skipped')
    return
  }
  const jsm = await ctx.nc.jetstreamManager()

  ctx.step(`webhook: direct consumer fetch of ${EVENTS} events`)
  await jsm.consumers.add(STREAM_NAME, {
    durable_name: 'bench-direct',
    filter_subject: DIRECT_SUBJECT,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
  })
  const consumer = await ctx.js.consumers.get(STREAM_NAME, 'bench-direct')
  const directLatencies: number[] = []
  let directReceived = 0
  const started = performance.now()
  const sentAt = new Map<string, number>()
  const published = publishAll(ctx, DIRECT_SUBJECT, sentAt)
  while (directReceived < EVENTS && performance.now() - started < TIMEOUT_MS) {
    const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 })
    for await (const m of batch) {
      const id = (m.json() as { event_id: string }).event_id
      m.ack()
      directReceived++
      const t = sentAt.get(id)
      if (t !== undefined) directLatencies.push(performance.now() - t)
    }
  }
  await published
  ctx.rows.push({
    id: 'webhook-direct',
    scenario: `consume ${EVENTS} events: direct consumer fetch + ack`,
    concurrency: 1,
    unit: 'ev',
    ...summarize(directLatencies, directReceived, (performance.now() - started) / 1000),
  })
  await jsm.consumers.delete(STREAM_NAME, 'bench-direct')

  ctx.step(`webhook: push of ${EVENTS} events to a local receiver, ${IN_FLIGHT} in flight`)
  const ids = new Set<string>()
  const latencies: number[] = []
  const hookSentAt = new Map<string, number>()
  const receiver: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      res.writeHead(204).end()
      const id = req.headers['webhook-id']
      if (typeof id !== 'string' || ids.has(id)) return
      ids.add(id)
      const t = hookSentAt.get((JSON.parse(body) as { event_id?: string }).event_id ?? '')
      if (t !== undefined) latencies.push(performance.now() - t)
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const port = (receiver.address() as AddressInfo).port
  const name = `bench-${Date.now()}`
  try {
    const res = await fetch(`${ctx.bridge.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        subject: WEBHOOK_SUBJECT,
        url: `http://127.0.0.1:${port}/hook`,
        max_in_flight: IN_FLIGHT,
      }),
    })
    if (res.status !== 201)
      throw new Error(`creating the subscription answered ${res.status}: ${await res.text()}`)
    await sleep(500)
    const sample = await withCpu(ctx.bridge.pid, async () => {
      const begin = performance.now()
      const publishing = publishAll(ctx, WEBHOOK_SUBJECT, hookSentAt)
      await until(() => ids.size)
      await publishing
      return summarize(latencies, ids.size, (performance.now() - begin) / 1000)
    })
    ctx.rows.push({
      id: 'webhook-bridge',
      scenario: `webhook push of ${EVENTS} events via bridge`,
      concurrency: IN_FLIGHT,
      unit: 'ev',
      baseline: 'webhook-direct',
      compare: 'rate',
      ...sample,
    })
  } finally {
    await fetch(`${ctx.bridge.url}/v1/subscriptions/${name}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ctx.token}` },
    }).catch(() => undefined)
    receiver.close()
  }
}
