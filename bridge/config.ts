import { readFileSync } from 'node:fs'
import { DEFAULT_MAX_JSON_DEPTH } from '../shared/json-depth'
import { parseTokens, type TokenTable } from './auth/tokens'
import { type ForwardConfig, parseForwardConfig } from './forward/config'
import type { SseConfig } from './sse/config'
import type { WebhookConfig } from './subscriptions/config'
import { DEFAULT_PORTS, parseAllowlist, parsePorts } from './subscriptions/ssrf-guard'

export type StreamStorage = 'file' | 'memory'

export interface BridgeConfig {
  host: string
  port: number
  logLevel: string
  nats: {
    servers: string[]
    name: string
    user?: string
    pass?: string
    token?: string
    connectTimeoutMs: number
    reconnect: { initialMs: number; maxMs: number; jitter: number }
    /** Client PINGs every `pingIntervalMs`; `maxPingsOut` unanswered ones declare the link dead. */
    pingIntervalMs: number
    maxPingsOut: number
  }
  stream: {
    replicas: number
    storage: StreamStorage
    maxAgeMs: number
    duplicateWindowMs: number
    maxBytes: number
  }
  publishTimeoutMs: number
  requestTimeoutMs: number
  requestTimeoutMaxMs: number
  maxBodyBytes: number
  maxBatch: number
  /** Nesting allowed inside free-form JSON (event `data`/`metadata`, relayed JSON bodies). */
  maxJsonDepth: number
  shutdownGraceMs: number
  tokens: TokenTable
  sse: SseConfig
  webhooks: WebhookConfig
  forward: ForwardConfig
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

const read = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

const integer = (env: Env, name: string, fallback: number, min: number, max: number): number => {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got '${raw}'`)
  const value = Number(raw)
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

const fraction = (env: Env, name: string, fallback: number): number => {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new ConfigError(name, `expected a number between 0 and 1, got '${raw}'`)
  return value
}

/** `500ms`, `30s`, `2m`, `1h`, `7d`, or plain milliseconds. */
export const parseDuration = (raw: string): number | undefined => {
  const match = DURATION.exec(raw)
  if (!match) return undefined
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1))
}

const duration = (env: Env, name: string, fallbackMs: number, minMs: number): number => {
  const raw = read(env, name)
  if (raw === undefined) return fallbackMs
  const value = parseDuration(raw)
  if (value === undefined)
    throw new ConfigError(name, `expected a duration like 500ms, 30s, 2m, 7d; got '${raw}'`)
  if (value < minMs) throw new ConfigError(name, `must be at least ${minMs} ms, got ${value} ms`)
  return value
}

const natsServers = (env: Env): string[] => {
  const raw = read(env, 'NATS_URL') ?? 'nats://127.0.0.1:4222'
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (servers.length === 0) throw new ConfigError('NATS_URL', 'lists no server')
  for (const server of servers) {
    const withScheme = server.includes('://') ? server : `nats://${server}`
    let url: URL
    try {
      url = new URL(withScheme)
    } catch {
      throw new ConfigError('NATS_URL', `'${redactUrl(server)}' is not a valid server URL`)
    }
    if (!['nats:', 'tls:'].includes(url.protocol))
      throw new ConfigError('NATS_URL', `unsupported scheme '${url.protocol}' (use nats:// or tls://)`)
  }
  return servers
}

/** Hides credentials embedded in a server URL. */
export const redactUrl = (server: string): string => server.replace(/\/\/[^@/]*@/, '//***@')

const tokens = (env: Env): TokenTable => {
  const inline = read(env, 'BRIDGE_TOKENS')
  const file = read(env, 'BRIDGE_TOKENS_FILE')
  if (inline && file)
    throw new ConfigError('BRIDGE_TOKENS', 'set either BRIDGE_TOKENS or BRIDGE_TOKENS_FILE, not both')
  let source = 'BRIDGE_TOKENS'
  let text = inline
  if (file) {
    source = 'BRIDGE_TOKENS_FILE'
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(source, `cannot read ${file}: ${(err as Error).message}`)
    }
  }
  if (text === undefined) return parseTokens({})
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ConfigError(source, 'is not valid JSON')
  }
  try {
    return parseTokens(json)
  } catch (err) {
    throw new ConfigError(source, (err as Error).message)
  }
}

const webhookConfig = (env: Env): WebhookConfig => {
  const timeoutMs = integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000)
  const ackWaitMs = integer(env, 'WEBHOOK_ACK_WAIT_MS', timeoutMs + 20_000, 1_000, 3_600_000)
  if (ackWaitMs <= timeoutMs) throw new ConfigError('WEBHOOK_ACK_WAIT_MS', 'must be above WEBHOOK_TIMEOUT_MS')
  const initialMs = integer(env, 'WEBHOOK_BACKOFF_INITIAL_MS', 1_000, 10, 3_600_000)
  const maxMs = integer(env, 'WEBHOOK_BACKOFF_MAX_MS', 300_000, 10, 86_400_000)
  if (maxMs < initialMs)
    throw new ConfigError('WEBHOOK_BACKOFF_MAX_MS', 'must not be below WEBHOOK_BACKOFF_INITIAL_MS')
  const maxInFlightCap = integer(env, 'WEBHOOK_MAX_IN_FLIGHT_CAP', 100, 1, 10_000)
  const allowPrivate = (read(env, 'WEBHOOK_ALLOW_PRIVATE_HOSTS') ?? 'false').toLowerCase()
  if (!['true', 'false', '1', '0'].includes(allowPrivate))
    throw new ConfigError('WEBHOOK_ALLOW_PRIVATE_HOSTS', "must be 'true' or 'false'")
  let ports: WebhookConfig['ssrf']['ports']
  try {
    ports = parsePorts(read(env, 'WEBHOOK_ALLOWED_PORTS') ?? DEFAULT_PORTS)
  } catch (err) {
    throw new ConfigError('WEBHOOK_ALLOWED_PORTS', (err as Error).message)
  }
  let ssrf: WebhookConfig['ssrf']
  try {
    ssrf = parseAllowlist(
      (read(env, 'WEBHOOK_ALLOWED_HOSTS') ?? '').split(','),
      allowPrivate === 'true' || allowPrivate === '1',
      ports,
    )
  } catch (err) {
    throw new ConfigError('WEBHOOK_ALLOWED_HOSTS', (err as Error).message)
  }
  return {
    timeoutMs,
    ackWaitMs,
    backoff: { initialMs, maxMs },
    retryAfterMaxMs: integer(env, 'WEBHOOK_RETRY_AFTER_MAX_MS', 600_000, 0, 86_400_000),
    maxDeliverDefault: integer(env, 'WEBHOOK_MAX_DELIVER_DEFAULT', 10, 1, 1_000),
    maxInFlightDefault: Math.min(
      maxInFlightCap,
      integer(env, 'WEBHOOK_MAX_IN_FLIGHT_DEFAULT', 10, 1, 10_000),
    ),
    maxInFlightCap,
    deadLetterMaxAgeMs: duration(env, 'WEBHOOK_DEAD_LETTER_MAX_AGE', 30 * 86_400_000, 0),
    limits: {
      perPrincipal: integer(env, 'WEBHOOK_MAX_SUBSCRIPTIONS_PER_PRINCIPAL', 100, 1, 100_000),
      total: integer(env, 'WEBHOOK_MAX_SUBSCRIPTIONS', 1_000, 1, 100_000),
    },
    pacing: {
      initialMinMs: integer(env, 'WEBHOOK_BACKOFF_INITIAL_MIN_MS', 1_000, 10, 3_600_000),
      maxDeliverMax: integer(env, 'WEBHOOK_MAX_DELIVER_MAX', 100, 1, 1_000),
    },
    ssrf,
  }
}

export const loadConfig = (env: Env = process.env): BridgeConfig => {
  const logLevel = read(env, 'LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`)
  const storage = read(env, 'STREAM_STORAGE') ?? 'file'
  if (storage !== 'file' && storage !== 'memory')
    throw new ConfigError('STREAM_STORAGE', `must be 'file' or 'memory', got '${storage}'`)

  const reconnectInitialMs = integer(env, 'NATS_RECONNECT_INITIAL_MS', 500, 10, 600_000)
  const reconnectMaxMs = integer(env, 'NATS_RECONNECT_MAX_MS', 30_000, 10, 3_600_000)
  if (reconnectMaxMs < reconnectInitialMs)
    throw new ConfigError('NATS_RECONNECT_MAX_MS', 'must not be below NATS_RECONNECT_INITIAL_MS')

  const requestTimeoutMs = integer(env, 'BRIDGE_REQUEST_TIMEOUT_MS', 5_000, 1, 600_000)
  const requestTimeoutMaxMs = integer(env, 'BRIDGE_REQUEST_TIMEOUT_MAX_MS', 30_000, 1, 600_000)
  if (requestTimeoutMaxMs < requestTimeoutMs)
    throw new ConfigError('BRIDGE_REQUEST_TIMEOUT_MAX_MS', 'must not be below BRIDGE_REQUEST_TIMEOUT_MS')

  const maxAgeMs = duration(env, 'STREAM_MAX_AGE', 7 * 86_400_000, 0)
  const duplicateWindowMs = duration(env, 'STREAM_DUPLICATE_WINDOW', 120_000, 100)
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs)
    throw new ConfigError('STREAM_DUPLICATE_WINDOW', 'must not exceed STREAM_MAX_AGE')

  return {
    host: read(env, 'BRIDGE_HOST') ?? '127.0.0.1',
    port: integer(env, 'BRIDGE_PORT', 8340, 0, 65_535),
    logLevel,
    nats: {
      servers: natsServers(env),
      name: read(env, 'NATS_CONNECTION_NAME') ?? 'library-bridge',
      user: read(env, 'NATS_USER'),
      pass: read(env, 'NATS_PASSWORD'),
      token: read(env, 'NATS_TOKEN'),
      connectTimeoutMs: integer(env, 'NATS_CONNECT_TIMEOUT_MS', 5_000, 100, 120_000),
      reconnect: {
        initialMs: reconnectInitialMs,
        maxMs: reconnectMaxMs,
        jitter: fraction(env, 'NATS_RECONNECT_JITTER', 0.2),
      },
      pingIntervalMs: integer(env, 'NATS_PING_INTERVAL_MS', 10_000, 100, 3_600_000),
      maxPingsOut: integer(env, 'NATS_MAX_PINGS_OUT', 3, 1, 100),
    },
    stream: {
      replicas: integer(env, 'STREAM_REPLICAS', 1, 1, 5),
      storage,
      maxAgeMs,
      duplicateWindowMs,
      maxBytes: integer(env, 'STREAM_MAX_BYTES', -1, -1, Number.MAX_SAFE_INTEGER),
    },
    publishTimeoutMs: integer(env, 'BRIDGE_PUBLISH_TIMEOUT_MS', 5_000, 1, 120_000),
    requestTimeoutMs,
    requestTimeoutMaxMs,
    maxBodyBytes: integer(env, 'BRIDGE_MAX_BODY_BYTES', 1_048_576, 1_024, 64 * 1_048_576),
    maxBatch: integer(env, 'BRIDGE_MAX_BATCH', 500, 1, 10_000),
    maxJsonDepth: integer(env, 'MAX_JSON_DEPTH', DEFAULT_MAX_JSON_DEPTH, 1, 1_000),
    shutdownGraceMs: integer(env, 'BRIDGE_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    tokens: tokens(env),
    forward: parseForwardConfig(env),
    sse: {
      heartbeatMs: integer(env, 'SSE_HEARTBEAT_MS', 15_000, 100, 3_600_000),
      retryMs: integer(env, 'SSE_RETRY_MS', 3_000, 0, 3_600_000),
      maxClients: integer(env, 'SSE_MAX_CLIENTS', 1_000, 1, 1_000_000),
      clientBufferBytes: integer(env, 'SSE_CLIENT_BUFFER_BYTES', 1_048_576, 1_024, 1_073_741_824),
      cutGraceMs: integer(env, 'SSE_CUT_GRACE_MS', 5_000, 0, 600_000),
    },
    webhooks: webhookConfig(env),
  }
}
