import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseTokens } from '../../bridge/auth/tokens'
import { ConfigError, loadConfig } from '../../bridge/config'
import { parseDuration } from '../../shared/config-primitives'

const TOKEN = 'a-long-enough-token-123'

const failure = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8340,
      publishTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      requestTimeoutMaxMs: 30_000,
      maxBodyBytes: 1_048_576,
      maxBatch: 500,
      maxJsonDepth: 32,
      nats: { servers: ['nats://127.0.0.1:4222'], reconnect: { initialMs: 500, maxMs: 30_000 } },
      stream: { replicas: 1, storage: 'file', maxAgeMs: 7 * 86_400_000, duplicateWindowMs: 120_000 },
    })
    expect(config.tokens.size).toBe(0)
  })

  it('reads comma-separated servers, durations and limits', () => {
    const config = loadConfig({
      NATS_URL: 'nats://a:4222, nats://b:4222,c:4222',
      STREAM_MAX_AGE: '2d',
      STREAM_DUPLICATE_WINDOW: '90s',
      STREAM_STORAGE: 'memory',
      STREAM_REPLICAS: '3',
      BRIDGE_MAX_BATCH: '10',
    })
    expect(config.nats.servers).toEqual(['nats://a:4222', 'nats://b:4222', 'c:4222'])
    expect(config.stream).toMatchObject({
      maxAgeMs: 172_800_000,
      duplicateWindowMs: 90_000,
      storage: 'memory',
      replicas: 3,
    })
    expect(config.maxBatch).toBe(10)
  })

  it('names the offending variable', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ BRIDGE_PORT: 'eighty' }, 'BRIDGE_PORT'],
      [{ BRIDGE_PORT: '70000' }, 'BRIDGE_PORT'],
      [{ NATS_URL: 'http://x:4222' }, 'NATS_URL'],
      [{ NATS_URL: ' , ' }, 'NATS_URL'],
      [{ STREAM_STORAGE: 'tape' }, 'STREAM_STORAGE'],
      [{ STREAM_MAX_AGE: 'forever' }, 'STREAM_MAX_AGE'],
      [{ STREAM_MAX_AGE: '1m', STREAM_DUPLICATE_WINDOW: '2m' }, 'STREAM_DUPLICATE_WINDOW'],
      [{ NATS_RECONNECT_INITIAL_MS: '5000', NATS_RECONNECT_MAX_MS: '1000' }, 'NATS_RECONNECT_MAX_MS'],
      [{ NATS_RECONNECT_JITTER: '2' }, 'NATS_RECONNECT_JITTER'],
      [
        { BRIDGE_REQUEST_TIMEOUT_MS: '9000', BRIDGE_REQUEST_TIMEOUT_MAX_MS: '1000' },
        'BRIDGE_REQUEST_TIMEOUT_MAX_MS',
      ],
      [{ BRIDGE_TOKENS: '{not json' }, 'BRIDGE_TOKENS'],
      [{ BRIDGE_TOKENS: JSON.stringify({ x: { token: 'short' } }) }, 'BRIDGE_TOKENS'],
      [{ BRIDGE_TOKENS: JSON.stringify({ x: { token: TOKEN, publish: ['a..b'] } }) }, 'BRIDGE_TOKENS'],
      [{ BRIDGE_TOKENS_FILE: '/nonexistent/tokens.json' }, 'BRIDGE_TOKENS_FILE'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ]
    for (const [env, variable] of cases) {
      const err = failure(env)
      expect(err.variable).toBe(variable)
      expect(err.message.startsWith(`${variable}:`)).toBe(true)
    }
  })

  it('never echoes credentials from NATS_URL or tokens in its errors', () => {
    expect(failure({ NATS_URL: 'http://user:secret@host:4222' }).message).not.toContain('secret')
    expect(failure({ BRIDGE_TOKENS: JSON.stringify({ x: { token: 'tiny-secret' } }) }).message).not.toContain(
      'tiny-secret',
    )
  })

  it('reads tokens from BRIDGE_TOKENS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-tokens-'))
    const file = join(dir, 'tokens.json')
    writeFileSync(file, JSON.stringify({ svc: { token: TOKEN, publish: ['library.>'] } }))
    const config = loadConfig({ BRIDGE_TOKENS_FILE: file })
    expect(config.tokens.authenticate(TOKEN)?.name).toBe('svc')
  })
})

/** The variables the README's bridge configuration table lists. */
const documentedVariables = (): string[] => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
  const start = readme.indexOf('### Bridge (environment')
  const table = readme.slice(start, readme.indexOf('\n### ', start + 1))
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split(' | ')[0] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!))
}

/** Free text: any value is taken as it is. */
const FREE_TEXT = new Set(['BRIDGE_HOST', 'NATS_CONNECTION_NAME', 'NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN'])

const BAD = 'Zq9-SECRET-VALUE-0xC0FFEE'

/** A value each validated variable refuses, holding BAD so that a message quoting it shows. */
const REFUSED: Record<string, string> = {
  NATS_URL: `http://${BAD}:4222`,
  BRIDGE_TOKENS: `{"ro": {"token": "${BAD}", "publish": "${BAD}"}}`,
  BRIDGE_TOKENS_FILE: `/nonexistent/${BAD}`,
  LOG_LEVEL: BAD,
  STREAM_STORAGE: BAD,
  STREAM_MAX_AGE: BAD,
  STREAM_DUPLICATE_WINDOW: BAD,
  WEBHOOK_DEAD_LETTER_MAX_AGE: BAD,
  NATS_RECONNECT_JITTER: BAD,
  WEBHOOK_ALLOW_PRIVATE_HOSTS: BAD,
  WEBHOOK_ALLOWED_HOSTS: `10.0.0.0/8,${BAD}!`,
  WEBHOOK_ALLOWED_PORTS: BAD,
  FORWARD_ROUTES: `[{"subject": "a", "url": "${BAD}"}]`,
  FORWARD_TOKEN: BAD.slice(0, 15),
  FORWARD_SIGNING_SECRET: BAD,
}

describe('every documented variable', () => {
  const variables = documentedVariables()

  it('is read from the README table', () => {
    expect(variables.length).toBeGreaterThan(40)
    expect(variables).toContain('NATS_MAX_PINGS_OUT')
  })

  it('is refused when bad, by a message naming it and not quoting the value', () => {
    for (const variable of variables.filter((name) => !FREE_TEXT.has(name))) {
      // every other variable is a whole number, refused when it is not one
      const value = REFUSED[variable] ?? `12${BAD}`
      const err = failure({ FORWARD_TOKEN: TOKEN, [variable]: value })
      expect(err.variable, variable).toBe(variable)
      expect(err.message, variable).not.toContain(BAD.slice(0, 10))
      expect(err.message, variable).not.toContain(BAD.slice(-10))
    }
  })

  it('takes free text as it is', () => {
    const env = Object.fromEntries([...FREE_TEXT].map((name) => [name, ` ${BAD} `]))
    const config = loadConfig(env)
    expect(config.host).toBe(BAD)
    expect(config.nats).toMatchObject({ name: BAD, user: BAD, pass: BAD, token: BAD })
  })
})

describe('parseDuration', () => {
  it('understands units and plain milliseconds', () => {
    expect(parseDuration('250')).toBe(250)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('1.5s')).toBe(1_500)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('7d')).toBe(604_800_000)
    expect(parseDuration('7 days')).toBeUndefined()
    expect(parseDuration('-1s')).toBeUndefined()
  })
})

describe('parseTokens', () => {
  const table = parseTokens({
    functions: { token: TOKEN, publish: ['library.>'], request: ['library.swap.command'] },
    monitor: { token: `${TOKEN}-monitor`, subscribe: ['library.health.*'] },
  })

  it('finds the principal for an exact token only', () => {
    expect(table.authenticate(TOKEN)?.name).toBe('functions')
    expect(table.authenticate(`${TOKEN}-monitor`)?.name).toBe('monitor')
    expect(table.authenticate(`${TOKEN} `)).toBeUndefined()
    expect(table.authenticate(TOKEN.toUpperCase())).toBeUndefined()
    expect(table.authenticate('')).toBeUndefined()
  })

  it('denies every action not listed', () => {
    expect(table.authenticate(`${TOKEN}-monitor`)?.scopes).toEqual({
      publish: [],
      request: [],
      subscribe: ['library.health.*'],
      observe: [],
    })
  })

  it('refuses the same token under two names and unknown fields', () => {
    expect(() => parseTokens({ a: { token: TOKEN }, b: { token: TOKEN } })).toThrow(/another entry/)
    expect(() => parseTokens({ a: { token: TOKEN, scopes: ['>'] } })).toThrow(/a\.scopes: unknown key/)
    expect(() => parseTokens({ a: { token: TOKEN, publish: ['library.>.x'] } })).toThrow(/pattern/)
  })
})
