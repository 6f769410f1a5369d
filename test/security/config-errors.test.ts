import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../bridge/config'
import { startBridgeProcess } from '../support/bridge-process'

const SECRET = 'S3cretTokenValue-do-not-show-0xC0FFEE'

const configError = (env: Record<string, string>): string => {
  try {
    loadConfig(env)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('expected a configuration error')
}

describe('bridge configuration errors name the variable and the problem, never the value', () => {
  it.each([
    ['token of the wrong type', { ro: { token: 1234567890123456, subscribe: ['library.>'] } }, '1234567890'],
    ['scopes as a string', { ro: { token: SECRET, subscribe: SECRET } }, SECRET],
    ['admin flag as a string', { ro: { token: `${SECRET}-a`, admin: SECRET } }, SECRET],
    ['a secret as the token name', { [`${SECRET}!`]: { token: `${SECRET}-b` } }, SECRET],
    ['a secret as an unknown key', { ro: { token: `${SECRET}-c`, [SECRET]: true } }, SECRET],
    ['a short token', { ro: { token: 'sh0rt-s3cret' } }, 'sh0rt-s3cret'],
    ['an entry that is a string', { ro: SECRET }, SECRET],
  ])('BRIDGE_TOKENS: %s', (_name, tokens, secret) => {
    const message = configError({ BRIDGE_TOKENS: JSON.stringify(tokens) })
    expect(message).toMatch(/^BRIDGE_TOKENS: \S/)
    expect(message).not.toContain(secret)
  })

  it('BRIDGE_TOKENS: a misspelt field is named, its value is not', () => {
    const message = configError({
      BRIDGE_TOKENS: JSON.stringify({ ro: { token: SECRET, subscibe: [SECRET] } }),
    })
    expect(message).toBe('BRIDGE_TOKENS: ro.subscibe: unknown key')
  })

  it.each([
    ['timeout as a string', [{ subject: 'svc.a', url: 'http://x.test/a', timeout_ms: SECRET }]],
    ['queue of the wrong type', [{ subject: 'svc.a', url: 'http://x.test/a', queue: [SECRET] }]],
    ['url with credentials', [{ subject: 'svc.a', url: `http://user:${SECRET}@x.test/a` }]],
    ['url not a URL', [{ subject: 'svc.a', url: SECRET }]],
    ['reply as a string', [{ subject: 'svc.a', url: 'http://x.test/a', reply: SECRET }]],
  ])('FORWARD_ROUTES: %s', (_name, routes) => {
    const message = configError({
      FORWARD_ROUTES: JSON.stringify(routes),
      FORWARD_TOKEN: 'forward-token-0123456789',
    })
    expect(message).toMatch(/^FORWARD_ROUTES: 0\.\w+: \S/)
    expect(message).not.toContain(SECRET)
  })

  it('a bridge process refusing its BRIDGE_TOKENS logs neither the token nor the bad value', async () => {
    const failure = await startBridgeProcess({
      natsUrl: 'nats://127.0.0.1:1',
      tokens: { ro: { token: SECRET, subscribe: SECRET as unknown as string[] } },
    }).then(
      () => new Error('the bridge started'),
      (err: Error) => err,
    )
    expect(failure.message).toContain('BRIDGE_TOKENS')
    expect(failure.message).not.toContain(SECRET)
  })
})
