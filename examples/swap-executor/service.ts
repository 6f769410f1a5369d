import { setTimeout as sleep } from 'node:timers/promises'
import type { Span } from '@opentelemetry/api'
import {
  ErrorCode,
  type Msg,
  type NatsConnection,
  NatsError,
  type Service,
  ServiceError,
  type ServiceMsg,
} from 'nats'
import * as v from 'valibot'
import { createEvent } from '../../shared/events'
import { SWAP_COMMAND_SUBJECT, SWAP_VALIDATE_SUBJECT, subjectFor } from '../../shared/subjects'
import type { SwapRequest, SwapResponse } from '../../shared/swap'
import { SwapValidationReply } from '../../shared/swap'
import {
  LibrarySwapCommand,
  type SwapOutcomeEventType,
  swapOutcomeEventId,
} from '../../shared/swap-execution'
import type { Tracing } from '../../shared/telemetry/tracing'
import { ATTR_SWAP_ACTION, ATTR_SWAP_ID, ATTR_SWAP_STATUS, startCommandSpan, tracedHeaders } from './tracing'

export const EXECUTOR_NAME = 'library-swap-executor'
export const EXECUTOR_VERSION = '1.0.0'

export interface SwapExecutorOptions {
  /** Queue group: N executors share the commands. */
  queue: string
  /** How long the simulated swap takes. */
  delayMs: number
  /** Probability (0..1) that the simulated swap fails. */
  failRate: number
  /** Ask `library.swap.validate` before executing. */
  validate: boolean
  validateTimeoutMs: number
  log?: (line: Record<string, unknown>) => void
  random?: () => number
  /** Spans exported over OTLP (`startTracing`); undefined leaves tracing off. */
  tracing?: Tracing
}

export const DEFAULT_EXECUTOR_OPTIONS: SwapExecutorOptions = {
  queue: EXECUTOR_NAME,
  delayMs: 250,
  failRate: 0,
  validate: true,
  validateTimeoutMs: 3_000,
}

const encoder = new TextEncoder()
const json = (value: unknown) => encoder.encode(JSON.stringify(value))
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err))

interface Outcome {
  status: string
  success: boolean
  message: string
  validation_results: Record<string, unknown> | null
}
type Validation = { ok: true; results: Record<string, unknown> | null } | { ok: false; response: Outcome }
/** The span of the command being handled, while tracing is on. */
type Trace = { tracing: Tracing; span: Span } | undefined

const askLibrary = async (
  nc: NatsConnection,
  request: SwapRequest,
  timeoutMs: number,
  trace: Trace,
): Promise<Validation> => {
  let reply: Msg
  try {
    reply = await nc.request(SWAP_VALIDATE_SUBJECT, json(request), {
      timeout: timeoutMs,
      ...(trace ? { headers: tracedHeaders(trace) } : {}),
    })
  } catch (err) {
    const why =
      err instanceof NatsError && err.code === ErrorCode.NoResponders
        ? `nothing answers ${SWAP_VALIDATE_SUBJECT} (is the bridge running with its forward routes?)`
        : err instanceof NatsError && err.code === ErrorCode.Timeout
          ? `no answer on ${SWAP_VALIDATE_SUBJECT} within ${timeoutMs} ms`
          : describe(err)
    const message = `could not validate the swap with the Library: ${why}`
    return { ok: false, response: { status: 'failed', success: false, message, validation_results: null } }
  }
  const serviceError = ServiceError.toServiceError(reply)
  if (serviceError) {
    const message = `the Library could not validate the swap: ${serviceError.message}`
    return { ok: false, response: { status: 'failed', success: false, message, validation_results: null } }
  }
  let body: unknown
  try {
    body = reply.json()
  } catch {
    body = undefined
  }
  const parsed = v.safeParse(SwapValidationReply, body)
  if (!parsed.success) {
    const message = 'the Library answered the validation with an unexpected body'
    return { ok: false, response: { status: 'failed', success: false, message, validation_results: null } }
  }
  if (!parsed.output.valid)
    return {
      ok: false,
      response: {
        status: 'rejected',
        success: false,
        message: parsed.output.message,
        validation_results: parsed.output.validation_results,
      },
    }
  return { ok: true, results: parsed.output.validation_results }
}

/** Publishes the outcome the Library did not wait for, as a swap event it can settle the swap from. */
const publishLateOutcome = async (
  nc: NatsConnection,
  command: LibrarySwapCommand,
  response: SwapResponse,
  trace: Trace,
) => {
  const eventType: SwapOutcomeEventType =
    command.action === 'rollback' ? 'swap.rolled_back' : response.success ? 'swap.completed' : 'swap.failed'
  const parties = { from_entity_id: command.from_entity_id, to_entity_id: command.to_entity_id }
  const base = {
    event_id: await swapOutcomeEventId(command.swap_id, eventType),
    source: EXECUTOR_NAME,
    swap_id: command.swap_id,
    metadata: { late: true },
  }
  const event =
    eventType === 'swap.completed'
      ? createEvent({
          ...base,
          event_type: eventType,
          data: { ...parties, status: response.status, message: response.message },
        })
      : eventType === 'swap.failed'
        ? createEvent({
            ...base,
            event_type: eventType,
            data: {
              ...parties,
              status: response.status,
              message: response.message,
              error_code: 'executor_failed',
            },
          })
        : createEvent({
            ...base,
            event_type: eventType,
            data: { ...parties, reason: command.reason, message: response.message },
          })
  const h = tracedHeaders(trace)
  h.set('Content-Type', 'application/json')
  await nc.jetstream().publish(subjectFor(eventType), json(event), { msgID: event.event_id, headers: h })
  return event
}

const execute = async (
  nc: NatsConnection,
  command: LibrarySwapCommand,
  options: SwapExecutorOptions,
  trace: Trace,
): Promise<SwapResponse> => {
  const { swap_id } = command
  if (command.action === 'rollback') {
    await sleep(options.delayMs)
    return {
      swap_id,
      status: 'rolled_back',
      success: true,
      message: 'swap rolled back',
      validation_results: null,
    }
  }
  let validationResults: Record<string, unknown> | null = null
  if (options.validate) {
    const validation = await askLibrary(nc, command, options.validateTimeoutMs, trace)
    if (!validation.ok) return { swap_id, ...validation.response }
    validationResults = validation.results
  }
  if (command.validate_only)
    return {
      swap_id,
      status: 'validated',
      success: true,
      message: 'swap is valid',
      validation_results: validationResults,
    }
  await sleep(options.delayMs)
  if ((options.random ?? Math.random)() < options.failRate)
    return {
      swap_id,
      status: 'failed',
      success: false,
      message: 'simulated swap failure',
      validation_results: validationResults,
    }
  return {
    swap_id,
    status: 'completed',
    success: true,
    message: 'swap completed',
    validation_results: validationResults,
  }
}

/** Registers the executor as a NATS service: it shows up in `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`. */
export const startSwapExecutor = async (
  nc: NatsConnection,
  overrides: Partial<SwapExecutorOptions> = {},
): Promise<Service> => {
  const options = { ...DEFAULT_EXECUTOR_OPTIONS, ...overrides }
  const log = options.log ?? (() => undefined)
  const service = await nc.services.add({
    name: EXECUTOR_NAME,
    version: EXECUTOR_VERSION,
    description: 'Reference executor for library.swap.command',
    queue: options.queue,
  })
  const { tracing } = options
  const handle = async (msg: ServiceMsg, trace: Trace) => {
    const started = Date.now()
    let body: unknown
    try {
      body = msg.json()
    } catch {
      msg.respondError(400, 'swap command is not JSON', json({ error: 'swap command is not JSON' }))
      trace?.tracing.fail(trace.span, 'invalid_command', 'swap command is not JSON')
      return
    }
    const parsed = v.safeParse(LibrarySwapCommand, body)
    if (!parsed.success) {
      const issues = v.flatten(parsed.issues)
      msg.respondError(400, 'invalid swap command', json({ error: 'invalid swap command', issues }))
      trace?.tracing.fail(trace.span, 'invalid_command', 'invalid swap command')
      return
    }
    const command = parsed.output
    trace?.span.setAttributes({ [ATTR_SWAP_ID]: command.swap_id, [ATTR_SWAP_ACTION]: command.action })
    const response = await execute(nc, command, options, trace)
    trace?.span.setAttribute(ATTR_SWAP_STATUS, response.status)
    if (trace && response.status === 'failed') trace.tracing.fail(trace.span, 'swap_failed', response.message)
    const elapsed = Date.now() - started
    log({
      msg: 'swap command handled',
      swap_id: command.swap_id,
      action: command.action,
      status: response.status,
      elapsed_ms: elapsed,
    })
    msg.respond(json(response))
    // Past the Library's deadline the reply goes nowhere; the event settles the swap instead.
    if (command.reply_timeout_ms !== undefined && elapsed >= command.reply_timeout_ms * 0.8) {
      try {
        const event = await publishLateOutcome(nc, command, response, trace)
        log({ msg: 'late outcome published', swap_id: command.swap_id, event_type: event.event_type })
      } catch (err) {
        log({ msg: 'could not publish the late outcome', swap_id: command.swap_id, err: describe(err) })
      }
    }
  }
  service.addEndpoint('command', {
    subject: SWAP_COMMAND_SUBJECT,
    handler: (err, msg) => {
      if (err) {
        log({ msg: 'endpoint error', err: err.message })
        return
      }
      if (tracing === undefined) {
        void handle(msg, undefined)
        return
      }
      const span = startCommandSpan(tracing, {
        subject: msg.subject,
        queue: options.queue,
        carried: msg.headers,
      })
      void handle(msg, { tracing, span }).finally(() => span.end())
    },
  })
  return service
}
