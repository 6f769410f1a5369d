import { connect } from 'nats'
import { startTracing } from '../shared/telemetry/tracing'
import {
  DEFAULT_EXECUTOR_OPTIONS,
  EXECUTOR_NAME,
  EXECUTOR_VERSION,
  startSwapExecutor,
} from './swap-executor/service'

/**
 * Reference swap executor: answers `library.swap.command` after asking the Library to validate.
 *
 *   NATS_URL                          nats://127.0.0.1:4222
 *   SWAP_EXECUTOR_QUEUE               library-swap-executor
 *   SWAP_EXECUTOR_DELAY_MS            250    simulated swap duration
 *   SWAP_EXECUTOR_FAIL_RATE           0      probability (0..1) that a swap fails
 *   SWAP_EXECUTOR_VALIDATE            true   ask library.swap.validate first
 *   SWAP_EXECUTOR_VALIDATE_TIMEOUT_MS 3000
 *   OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables): spans over OTLP/HTTP; off without it
 */
const env = process.env
const number = (name: string, fallback: number, min: number, max: number) => {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(
      JSON.stringify({ level: 'fatal', msg: `${name} must be a number between ${min} and ${max}` }),
    )
    process.exit(1)
  }
  return value
}

const log = (line: Record<string, unknown>) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), service: EXECUTOR_NAME, ...line }))

const tracing = await startTracing(env, {
  serviceName: EXECUTOR_NAME,
  serviceVersion: EXECUTOR_VERSION,
  log: {
    warn: (message) => log({ level: 'warn', component: 'otel', msg: message }),
    error: (message) => log({ level: 'error', component: 'otel', msg: message }),
  },
})
const nc = await connect({
  servers: (env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()),
  name: EXECUTOR_NAME,
  maxReconnectAttempts: -1,
  waitOnFirstConnect: true,
})
const service = await startSwapExecutor(nc, {
  queue: env.SWAP_EXECUTOR_QUEUE?.trim() || DEFAULT_EXECUTOR_OPTIONS.queue,
  delayMs: number('SWAP_EXECUTOR_DELAY_MS', DEFAULT_EXECUTOR_OPTIONS.delayMs, 0, 3_600_000),
  failRate: number('SWAP_EXECUTOR_FAIL_RATE', DEFAULT_EXECUTOR_OPTIONS.failRate, 0, 1),
  validate: (env.SWAP_EXECUTOR_VALIDATE ?? 'true').trim() !== 'false',
  validateTimeoutMs: number(
    'SWAP_EXECUTOR_VALIDATE_TIMEOUT_MS',
    DEFAULT_EXECUTOR_OPTIONS.validateTimeoutMs,
    1,
    600_000,
  ),
  log,
  tracing,
})
log({ msg: 'swap executor ready', server: nc.getServer(), service_id: service.info().id })

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  log({ msg: 'stopping', signal })
  const force = setTimeout(() => process.exit(1), 10_000)
  force.unref()
  await service.stop().catch(() => undefined)
  await nc.drain().catch(() => undefined)
  await tracing?.shutdown().catch(() => undefined)
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
