import { readFileSync } from 'node:fs'
import * as v from 'valibot'
import {
  booleanText,
  choiceText,
  durationText,
  fractionText,
  intText,
  jsonText,
  optionalIntText,
  parsedBy,
  presentValues,
} from '../shared/config-primitives'
import { firstIssue } from '../shared/http-error'
import { DEFAULT_MAX_JSON_DEPTH } from '../shared/json-depth'
import { parseTokens } from './auth/tokens'
import { ForwardRoutesText, ForwardSigningSecret, ForwardToken } from './forward/config'
import { DEFAULT_PORTS, parseAllowlist, parsePorts } from './subscriptions/ssrf-guard'

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Hides credentials embedded in a server URL. */
export const redactUrl = (server: string): string => server.replace(/\/\/[^@/]*@/, '//***@')

const natsServers = (raw: string): string[] => {
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (servers.length === 0) throw new Error('lists no server')
  for (const [index, server] of servers.entries()) {
    const withScheme = server.includes('://') ? server : `nats://${server}`
    if (!URL.canParse(withScheme)) throw new Error(`server ${index + 1} is not a valid URL`)
    if (!['nats:', 'tls:'].includes(new URL(withScheme).protocol))
      throw new Error(`server ${index + 1} has an unsupported scheme (use nats:// or tls://)`)
  }
  return servers
}

const TokenTableText = jsonText(v.pipe(v.unknown(), parsedBy(parseTokens)))

const readTokenFile = (path: string): string => {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new Error(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** Every variable the bridge reads (README, Configuration), with its default and bounds. */
const VARIABLES = {
  BRIDGE_HOST: v.optional(v.string(), '127.0.0.1'),
  BRIDGE_PORT: intText(8340, 0, 65_535),
  LOG_LEVEL: choiceText(LOG_LEVELS, 'info'),
  NATS_URL: v.optional(v.pipe(v.string(), parsedBy(natsServers)), 'nats://127.0.0.1:4222'),
  NATS_CONNECTION_NAME: v.optional(v.string(), 'library-bridge'),
  NATS_USER: v.optional(v.string()),
  NATS_PASSWORD: v.optional(v.string()),
  NATS_TOKEN: v.optional(v.string()),
  NATS_CONNECT_TIMEOUT_MS: intText(5_000, 100, 120_000),
  NATS_RECONNECT_INITIAL_MS: intText(500, 10, 600_000),
  NATS_RECONNECT_MAX_MS: intText(30_000, 10, 3_600_000),
  NATS_RECONNECT_JITTER: fractionText(0.2),
  /** The client PINGs this often; NATS_MAX_PINGS_OUT unanswered ones declare the link dead. */
  NATS_PING_INTERVAL_MS: intText(10_000, 100, 3_600_000),
  NATS_MAX_PINGS_OUT: intText(3, 1, 100),
  STREAM_REPLICAS: intText(1, 1, 5),
  STREAM_STORAGE: choiceText(['file', 'memory'], 'file'),
  STREAM_MAX_AGE: durationText('7d', 0),
  STREAM_DUPLICATE_WINDOW: durationText('2m', 100),
  STREAM_MAX_BYTES: intText(-1, -1, Number.MAX_SAFE_INTEGER),
  BRIDGE_PUBLISH_TIMEOUT_MS: intText(5_000, 1, 120_000),
  BRIDGE_REQUEST_TIMEOUT_MS: intText(5_000, 1, 600_000),
  BRIDGE_REQUEST_TIMEOUT_MAX_MS: intText(30_000, 1, 600_000),
  BRIDGE_MAX_BODY_BYTES: intText(1_048_576, 1_024, 64 * 1_048_576),
  BRIDGE_MAX_BATCH: intText(500, 1, 10_000),
  /** Nesting allowed inside free-form JSON (event `data`/`metadata`, relayed JSON bodies). */
  MAX_JSON_DEPTH: intText(DEFAULT_MAX_JSON_DEPTH, 1, 1_000),
  BRIDGE_SHUTDOWN_GRACE_MS: intText(10_000, 0, 600_000),
  BRIDGE_TOKENS: v.optional(TokenTableText),
  BRIDGE_TOKENS_FILE: v.optional(v.pipe(v.string(), parsedBy(readTokenFile), TokenTableText)),
  SSE_HEARTBEAT_MS: intText(15_000, 100, 3_600_000),
  SSE_RETRY_MS: intText(3_000, 0, 3_600_000),
  SSE_MAX_CLIENTS: intText(1_000, 1, 1_000_000),
  SSE_CLIENT_BUFFER_BYTES: intText(1_048_576, 1_024, 1_073_741_824),
  SSE_CUT_GRACE_MS: intText(5_000, 0, 600_000),
  WEBHOOK_TIMEOUT_MS: intText(10_000, 100, 300_000),
  /** Default: WEBHOOK_TIMEOUT_MS + 20 s. */
  WEBHOOK_ACK_WAIT_MS: optionalIntText(1_000, 3_600_000),
  WEBHOOK_BACKOFF_INITIAL_MS: intText(1_000, 10, 3_600_000),
  WEBHOOK_BACKOFF_MAX_MS: intText(300_000, 10, 86_400_000),
  WEBHOOK_RETRY_AFTER_MAX_MS: intText(600_000, 0, 86_400_000),
  WEBHOOK_MAX_DELIVER_DEFAULT: intText(10, 1, 1_000),
  WEBHOOK_MAX_IN_FLIGHT_DEFAULT: intText(10, 1, 10_000),
  WEBHOOK_MAX_IN_FLIGHT_CAP: intText(100, 1, 10_000),
  WEBHOOK_DEAD_LETTER_MAX_AGE: durationText('30d', 0),
  WEBHOOK_ALLOW_PRIVATE_HOSTS: booleanText(false),
  WEBHOOK_ALLOWED_HOSTS: v.optional(
    v.pipe(
      v.string(),
      parsedBy((list: string) => parseAllowlist(list.split(','))),
    ),
    '',
  ),
  WEBHOOK_ALLOWED_PORTS: v.optional(v.pipe(v.string(), parsedBy(parsePorts)), DEFAULT_PORTS),
  WEBHOOK_MAX_SUBSCRIPTIONS_PER_PRINCIPAL: intText(100, 1, 100_000),
  WEBHOOK_MAX_SUBSCRIPTIONS: intText(1_000, 1, 100_000),
  WEBHOOK_BACKOFF_INITIAL_MIN_MS: intText(1_000, 10, 3_600_000),
  WEBHOOK_MAX_DELIVER_MAX: intText(100, 1, 1_000),
  FORWARD_ROUTES: v.optional(ForwardRoutesText, '[]'),
  /** Sent as `Authorization: Bearer …` on every forwarded request. */
  FORWARD_TOKEN: v.optional(ForwardToken),
  /** When set, every forwarded request is signed per Standard Webhooks. */
  FORWARD_SIGNING_SECRET: v.optional(ForwardSigningSecret),
}

const Variables = v.object(VARIABLES)
type Variables = v.InferOutput<typeof Variables>

/** A rule across variables, reported against `variable`. */
const rule = (variable: keyof Variables, holds: (env: Variables) => boolean, message: string) =>
  v.forward<Variables, v.CheckIssue<Variables>, [keyof Variables]>(v.check(holds, message), [variable])

const BridgeEnv = v.pipe(
  Variables,
  rule(
    'NATS_RECONNECT_MAX_MS',
    (e) => e.NATS_RECONNECT_MAX_MS >= e.NATS_RECONNECT_INITIAL_MS,
    'must not be below NATS_RECONNECT_INITIAL_MS',
  ),
  rule(
    'BRIDGE_REQUEST_TIMEOUT_MAX_MS',
    (e) => e.BRIDGE_REQUEST_TIMEOUT_MAX_MS >= e.BRIDGE_REQUEST_TIMEOUT_MS,
    'must not be below BRIDGE_REQUEST_TIMEOUT_MS',
  ),
  rule(
    'STREAM_DUPLICATE_WINDOW',
    (e) => e.STREAM_MAX_AGE === 0 || e.STREAM_DUPLICATE_WINDOW <= e.STREAM_MAX_AGE,
    'must not exceed STREAM_MAX_AGE',
  ),
  rule(
    'BRIDGE_TOKENS',
    (e) => e.BRIDGE_TOKENS === undefined || e.BRIDGE_TOKENS_FILE === undefined,
    'set either BRIDGE_TOKENS or BRIDGE_TOKENS_FILE, not both',
  ),
  rule(
    'WEBHOOK_ACK_WAIT_MS',
    (e) => e.WEBHOOK_ACK_WAIT_MS === undefined || e.WEBHOOK_ACK_WAIT_MS > e.WEBHOOK_TIMEOUT_MS,
    'must be above WEBHOOK_TIMEOUT_MS',
  ),
  rule(
    'WEBHOOK_BACKOFF_MAX_MS',
    (e) => e.WEBHOOK_BACKOFF_MAX_MS >= e.WEBHOOK_BACKOFF_INITIAL_MS,
    'must not be below WEBHOOK_BACKOFF_INITIAL_MS',
  ),
  rule(
    'FORWARD_ROUTES',
    (e) =>
      e.FORWARD_ROUTES.length === 0 ||
      e.FORWARD_TOKEN !== undefined ||
      e.FORWARD_SIGNING_SECRET !== undefined,
    'forward routes need FORWARD_TOKEN or FORWARD_SIGNING_SECRET',
  ),
  v.transform((e) => ({
    host: e.BRIDGE_HOST,
    port: e.BRIDGE_PORT,
    logLevel: e.LOG_LEVEL,
    nats: {
      servers: e.NATS_URL,
      name: e.NATS_CONNECTION_NAME,
      user: e.NATS_USER,
      pass: e.NATS_PASSWORD,
      token: e.NATS_TOKEN,
      connectTimeoutMs: e.NATS_CONNECT_TIMEOUT_MS,
      reconnect: {
        initialMs: e.NATS_RECONNECT_INITIAL_MS,
        maxMs: e.NATS_RECONNECT_MAX_MS,
        jitter: e.NATS_RECONNECT_JITTER,
      },
      pingIntervalMs: e.NATS_PING_INTERVAL_MS,
      maxPingsOut: e.NATS_MAX_PINGS_OUT,
    },
    stream: {
      replicas: e.STREAM_REPLICAS,
      storage: e.STREAM_STORAGE,
      maxAgeMs: e.STREAM_MAX_AGE,
      duplicateWindowMs: e.STREAM_DUPLICATE_WINDOW,
      maxBytes: e.STREAM_MAX_BYTES,
    },
    publishTimeoutMs: e.BRIDGE_PUBLISH_TIMEOUT_MS,
    requestTimeoutMs: e.BRIDGE_REQUEST_TIMEOUT_MS,
    requestTimeoutMaxMs: e.BRIDGE_REQUEST_TIMEOUT_MAX_MS,
    maxBodyBytes: e.BRIDGE_MAX_BODY_BYTES,
    maxBatch: e.BRIDGE_MAX_BATCH,
    maxJsonDepth: e.MAX_JSON_DEPTH,
    shutdownGraceMs: e.BRIDGE_SHUTDOWN_GRACE_MS,
    tokens: e.BRIDGE_TOKENS ?? e.BRIDGE_TOKENS_FILE ?? parseTokens({}),
    forward: {
      routes: e.FORWARD_ROUTES,
      token: e.FORWARD_TOKEN,
      signingSecret: e.FORWARD_SIGNING_SECRET,
    },
    sse: {
      heartbeatMs: e.SSE_HEARTBEAT_MS,
      retryMs: e.SSE_RETRY_MS,
      maxClients: e.SSE_MAX_CLIENTS,
      clientBufferBytes: e.SSE_CLIENT_BUFFER_BYTES,
      cutGraceMs: e.SSE_CUT_GRACE_MS,
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      ackWaitMs: e.WEBHOOK_ACK_WAIT_MS ?? e.WEBHOOK_TIMEOUT_MS + 20_000,
      backoff: { initialMs: e.WEBHOOK_BACKOFF_INITIAL_MS, maxMs: e.WEBHOOK_BACKOFF_MAX_MS },
      retryAfterMaxMs: e.WEBHOOK_RETRY_AFTER_MAX_MS,
      maxDeliverDefault: e.WEBHOOK_MAX_DELIVER_DEFAULT,
      maxInFlightDefault: Math.min(e.WEBHOOK_MAX_IN_FLIGHT_CAP, e.WEBHOOK_MAX_IN_FLIGHT_DEFAULT),
      maxInFlightCap: e.WEBHOOK_MAX_IN_FLIGHT_CAP,
      deadLetterMaxAgeMs: e.WEBHOOK_DEAD_LETTER_MAX_AGE,
      limits: {
        perPrincipal: e.WEBHOOK_MAX_SUBSCRIPTIONS_PER_PRINCIPAL,
        total: e.WEBHOOK_MAX_SUBSCRIPTIONS,
      },
      pacing: {
        initialMinMs: e.WEBHOOK_BACKOFF_INITIAL_MIN_MS,
        maxDeliverMax: e.WEBHOOK_MAX_DELIVER_MAX,
      },
      ssrf: {
        ...e.WEBHOOK_ALLOWED_HOSTS,
        allowPrivate: e.WEBHOOK_ALLOW_PRIVATE_HOSTS,
        ports: e.WEBHOOK_ALLOWED_PORTS,
      },
    },
  })),
)

export type BridgeConfig = v.InferOutput<typeof BridgeEnv>

/**
 * Reads the configuration from the environment; the first bad variable is a ConfigError naming
 * it and the problem, never its value.
 */
export const loadConfig = (env: Record<string, string | undefined> = process.env): BridgeConfig => {
  const result = v.safeParse(BridgeEnv, presentValues(env))
  if (result.success) return result.output
  const [issue] = result.issues
  const [variable, ...within] = issue.path ?? []
  const inner = { ...issue, path: within.length > 0 ? within : undefined } as v.BaseIssue<unknown>
  throw new ConfigError(String(variable?.key ?? 'environment'), firstIssue([inner]))
}
