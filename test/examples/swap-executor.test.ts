import { randomUUID } from 'node:crypto'
import { AckPolicy, connect, type NatsConnection, type Service, ServiceVerb } from 'nats'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXECUTOR_NAME, startSwapExecutor } from '../../examples/swap-executor/service'
import { SwapResponse } from '../../shared/swap'
import { swapOutcomeEventId } from '../../shared/swap-execution'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'

let nats: NatsServerHandle
let nc: NatsConnection
let library: NatsConnection
let executor: Service
const validations: unknown[] = []
let verdict: { valid: boolean; message: string; validation_results: Record<string, unknown> } = {
  valid: true,
  message: 'ok',
  validation_results: { checks: ['exists'] },
}

const command = (extra: Record<string, unknown> = {}) => ({
  swap_id: randomUUID(),
  from_entity_id: randomUUID(),
  to_entity_id: randomUUID(),
  reason: 'test',
  initiated_by: 'tester',
  ...extra,
})

const send = async (body: unknown) => {
  const reply = await nc.request('library.swap.command', JSON.stringify(body), { timeout: 10_000 })
  return v.parse(SwapResponse, reply.json())
}

beforeAll(async () => {
  nats = await startNatsServer()
  nc = await connect({ servers: nats.url })
  library = await connect({ servers: nats.url })
  library.subscribe('library.swap.validate', {
    callback: (_err, msg) => {
      validations.push(msg.json())
      msg.respond(JSON.stringify(verdict))
    },
  })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: 'SWAPS_TEST', subjects: ['library.swap.completed', 'library.swap.failed'] })
  executor = await startSwapExecutor(nc, { delayMs: 50, queue: 'executor-test' })
})

afterAll(async () => {
  await executor?.stop().catch(() => undefined)
  await library?.close()
  await nc?.close()
  await nats?.cleanup()
})

describe('reference swap executor', () => {
  it('is discoverable through $SRV.PING', async () => {
    const pong = await nc.request(`$SRV.${ServiceVerb.PING}.${EXECUTOR_NAME}`, '', { timeout: 5_000 })
    expect(pong.json()).toMatchObject({ name: EXECUTOR_NAME, type: 'io.nats.micro.v1.ping_response' })
  })

  it('validates with the Library, then completes the swap', async () => {
    const body = command()
    const response = await send(body)
    expect(response).toEqual({
      swap_id: body.swap_id,
      status: 'completed',
      success: true,
      message: 'swap completed',
      validation_results: { checks: ['exists'] },
    })
    expect(validations.at(-1)).toMatchObject({
      from_entity_id: body.from_entity_id,
      to_entity_id: body.to_entity_id,
    })
  })

  it('stops after validation for validate_only, and reports a rejected swap', async () => {
    expect((await send(command({ validate_only: true }))).status).toBe('validated')
    verdict = { valid: false, message: 'types differ', validation_results: { same_type: false } }
    try {
      const response = await send(command())
      expect(response).toMatchObject({ status: 'rejected', success: false, message: 'types differ' })
    } finally {
      verdict = { valid: true, message: 'ok', validation_results: {} }
    }
  })

  it('answers a rollback with rolled_back and rejects a malformed command with a service error', async () => {
    expect((await send(command({ action: 'rollback' }))).status).toBe('rolled_back')
    const reply = await nc.request('library.swap.command', '{"swap_id":"nope"}', { timeout: 5_000 })
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('400')
  })

  it('publishes the outcome as an event when it finishes past the Library deadline', async () => {
    await executor.stop()
    const slow = await connect({ servers: nats.url })
    const slowExecutor = await startSwapExecutor(slow, {
      delayMs: 400,
      queue: 'slow-executor',
      validate: false,
    })
    try {
      const body = command({ reply_timeout_ms: 100 })
      await expect(
        slow.request('library.swap.command', JSON.stringify(body), { timeout: 100 }).catch(() => 'timed out'),
      ).resolves.toBe('timed out')
      const jsm = await nc.jetstreamManager()
      const consumer = await jsm.consumers.add('SWAPS_TEST', {
        ack_policy: AckPolicy.None,
        filter_subject: 'library.swap.completed',
      })
      const js = nc.jetstream()
      const c = await js.consumers.get('SWAPS_TEST', consumer.name)
      const msg = await c.next({ expires: 10_000 })
      expect(msg?.headers?.get('Nats-Msg-Id')).toBe(await swapOutcomeEventId(body.swap_id, 'swap.completed'))
      expect(msg?.json()).toMatchObject({
        event_type: 'swap.completed',
        swap_id: body.swap_id,
        event_id: await swapOutcomeEventId(body.swap_id, 'swap.completed'),
        data: { status: 'completed' },
      })
    } finally {
      await slowExecutor.stop()
      await slow.close()
    }
  })
})
