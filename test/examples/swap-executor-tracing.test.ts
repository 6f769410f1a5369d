import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { connect, headers, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { swapOutcomeEventId } from '../../shared/swap-execution'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { type OtlpReceiver, SPAN_KIND, startOtlpReceiver } from '../support/otlp-receiver'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const hex = (bytes: number) => randomBytes(bytes).toString('hex')

let otlp: OtlpReceiver
let nats: NatsServerHandle
let nc: NatsConnection
let executor: ChildProcess
let output = ''
const validations: Array<string | undefined> = []

/** The script as deployed (`npm run executor`), its spans going to the receiver. */
const startExecutor = (env: Record<string, string>) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/swap-executor.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (output.includes('swap executor ready')) resolve(child)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`executor exited (${code}) before it was ready\n${output}`)),
    )
  })

beforeAll(async () => {
  otlp = await startOtlpReceiver()
  nats = await startNatsServer()
  nc = await connect({ servers: nats.url })
  nc.subscribe('library.swap.validate', {
    callback: (_err, msg) => {
      validations.push(msg.headers?.get('traceparent'))
      msg.respond(JSON.stringify({ valid: true, message: 'ok', validation_results: {} }))
    },
  })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: 'SWAPS_TRACED', subjects: ['library.swap.completed'] })
  executor = await startExecutor({
    NATS_URL: nats.url,
    SWAP_EXECUTOR_DELAY_MS: '20',
    ...otlp.env,
  })
}, 60_000)

afterAll(async () => {
  if (executor && executor.exitCode === null) {
    const exited = new Promise((resolve) => executor.once('exit', resolve))
    executor.kill('SIGTERM')
    await exited
  }
  await nc?.close()
  await nats?.cleanup()
  await otlp?.close()
})

describe('swap executor tracing', () => {
  it('answers a command in a consumer span under its traceparent, and sends that span on', async () => {
    const caller = { traceId: hex(16), spanId: hex(8) }
    const h = headers()
    h.set('traceparent', `00-${caller.traceId}-${caller.spanId}-01`)
    const swapId = randomUUID()
    const command = {
      swap_id: swapId,
      from_entity_id: randomUUID(),
      to_entity_id: randomUUID(),
      reason: 'traced',
      initiated_by: 'tester',
      // Past this deadline the executor also publishes its outcome as an event.
      reply_timeout_ms: 1,
    }
    const reply = await nc.request('library.swap.command', JSON.stringify(command), {
      timeout: 10_000,
      headers: h,
    })
    expect(reply.json()).toMatchObject({ swap_id: swapId, status: 'completed' })

    const span = await otlp.waitForSpan((s) => s.attributes['library.swap.id'] === swapId)
    expect(span).toMatchObject({
      traceId: caller.traceId,
      parentSpanId: caller.spanId,
      kind: SPAN_KIND.consumer,
      name: 'process library.swap.command',
      service: 'library-swap-executor',
    })
    expect(span.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'library.swap.command',
      'library.swap.status': 'completed',
    })
    const own = `00-${caller.traceId}-${span.spanId}-01`
    expect(validations).toEqual([own])

    const jsm = await nc.jetstreamManager()
    const eventId = await swapOutcomeEventId(swapId, 'swap.completed')
    const stored = await jsm.streams.getMessage('SWAPS_TRACED', { last_by_subj: 'library.swap.completed' })
    expect(stored.header.get('Nats-Msg-Id')).toBe(eventId)
    expect(stored.header.get('traceparent')).toBe(own)
  })
})
