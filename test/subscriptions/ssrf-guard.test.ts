import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliver } from '../../bridge/subscriptions/deliver'
import {
  checkUrl,
  parseAllowlist,
  type ResolveAll,
  restrictedRange,
} from '../../bridge/subscriptions/ssrf-guard'
import { Receiver } from './receiver'

let receiver: Receiver

beforeAll(async () => {
  receiver = await Receiver.start()
})

afterAll(async () => {
  await receiver?.close()
})

const strict = parseAllowlist([])

/** A resolver that answers like a DNS server would for names pointing at internal addresses. */
const fakeDns: ResolveAll = async (hostname) => {
  const answers: Record<string, Array<{ address: string; family: number }>> = {
    'loopback.example.test': [{ address: '127.0.0.1', family: 4 }],
    'mixed.example.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ],
    'metadata.example.test': [{ address: '169.254.169.254', family: 4 }],
    'v6.example.test': [{ address: 'fd00::1', family: 6 }],
  }
  const found = answers[hostname]
  if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
  return found
}

const attempt = (url: string, policy = strict) =>
  deliver({ url, body: '{}', headers: {}, timeoutMs: 2_000, policy, resolve: fakeDns })

describe('SSRF guard', () => {
  const port = () => receiver.port
  const catalog: Array<[string, () => string, RegExp]> = [
    ['127.0.0.1', () => `http://127.0.0.1:${port()}/hook`, /127\.0\.0\.1 is a loopback address/],
    ['localhost', () => `http://localhost:${port()}/hook`, /loopback/],
    ['[::1]', () => `http://[::1]:${port()}/hook`, /::1 is a loopback address/],
    ['[::ffff:127.0.0.1]', () => `http://[::ffff:127.0.0.1]:${port()}/hook`, /loopback/],
    ['[::ffff:7f00:1] (hex form)', () => `http://[::ffff:7f00:1]:${port()}/hook`, /loopback/],
    ['0.0.0.0', () => `http://0.0.0.0:${port()}/hook`, /unspecified/],
    ['decimal 2130706433', () => `http://2130706433:${port()}/hook`, /loopback/],
    ['10/8', () => 'http://10.20.30.40/hook', /private/],
    ['172.16/12', () => 'http://172.16.5.4/hook', /private/],
    ['172.31/12', () => 'http://172.31.255.1/hook', /private/],
    ['192.168/16', () => 'http://192.168.1.1/hook', /private/],
    ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', /linkLocal/],
    ['100.64/10', () => 'http://100.64.0.1/hook', /carrierGradeNat/],
    ['fc00::/7', () => 'http://[fc00::1]/hook', /uniqueLocal/],
    ['fd00::/8', () => 'http://[fd12:3456::1]/hook', /uniqueLocal/],
    ['fe80::/10', () => 'http://[fe80::1]/hook', /linkLocal/],
    ['NAT64 of loopback', () => 'http://[64:ff9b::7f00:1]/hook', /rfc6052 form of loopback/],
    ['6to4 of private', () => 'http://[2002:a00:1::1]/hook', /6to4 form of private/],
    [
      'hostname resolving to loopback',
      () => `http://loopback.example.test:${port()}/hook`,
      /resolves to 127\.0\.0\.1/,
    ],
    ['hostname with one private answer', () => 'http://mixed.example.test/hook', /resolves to 10\.0\.0\.7/],
    ['hostname resolving to metadata', () => 'http://metadata.example.test/', /169\.254\.169\.254/],
    ['hostname resolving to unique-local v6', () => 'http://v6.example.test/', /fd00::1/],
    ['file://', () => 'file:///etc/passwd', /scheme 'file'/],
    ['gopher://', () => `gopher://127.0.0.1:${port()}/_GET`, /scheme 'gopher'/],
    ['ftp://', () => 'ftp://example.com/x', /scheme 'ftp'/],
    ['credentials in URL', () => 'http://user:pass@example.com/', /credentials/],
  ]

  it.each(catalog)('refuses %s without connecting', async (_label, url, message) => {
    const before = receiver.connections
    const outcome = await attempt(url())
    expect(outcome.kind).toBe('refused')
    expect('error' in outcome ? outcome.error : '').toMatch(message)
    expect('error' in outcome ? outcome.error : '').toMatch(/^refused: /)
    expect(receiver.connections).toBe(before)
    expect(receiver.deliveries).toHaveLength(0)
  })

  it('delivers to an address or host the configuration allowlists, and nowhere else', async () => {
    const byAddress = parseAllowlist(['127.0.0.1'])
    expect(await attempt(`http://127.0.0.1:${receiver.port}/hook`, byAddress)).toMatchObject({
      kind: 'delivered',
    })
    expect(await attempt(`http://loopback.example.test:${receiver.port}/hook`, byAddress)).toMatchObject({
      kind: 'delivered',
    })
    expect((await attempt('http://10.0.0.1/hook', byAddress)).kind).toBe('refused')

    const byRange = parseAllowlist(['127.0.0.0/8'])
    expect(await attempt(`http://[::ffff:127.0.0.1]:${receiver.port}/hook`, byRange)).toMatchObject({
      kind: 'delivered',
    })
    const byName = parseAllowlist(['*.example.test'])
    expect(await attempt(`http://loopback.example.test:${receiver.port}/hook`, byName)).toMatchObject({
      kind: 'delivered',
    })
    expect((await attempt(`http://127.0.0.1:${receiver.port}/hook`, byName)).kind).toBe('refused')
    const open = parseAllowlist([], true)
    expect(await attempt(`http://127.0.0.1:${receiver.port}/hook`, open)).toMatchObject({ kind: 'delivered' })
    expect(receiver.deliveries).toHaveLength(5)
    expect(() => checkUrl(open, 'file:///etc/passwd')).toThrow(/scheme 'file'/)
  })

  it('does not follow redirects', async () => {
    const target = await Receiver.start()
    receiver.reply = () => ({ status: 307, headers: { location: target.url } })
    try {
      const outcome = await attempt(`http://127.0.0.1:${receiver.port}/hook`, parseAllowlist(['127.0.0.1']))
      expect(outcome).toMatchObject({ kind: 'failed', status: 307 })
      expect(target.connections).toBe(0)
    } finally {
      receiver.reply = () => ({ status: 204 })
      await target.close()
    }
  })

  it('classifies public unicast as allowed', () => {
    expect(restrictedRange('93.184.216.34')).toBeUndefined()
    expect(restrictedRange('2606:2800:220:1:248:1893:25c8:1946')).toBeUndefined()
    expect(restrictedRange('64:ff9b::5db8:d822')).toBeUndefined()
    expect(restrictedRange('::ffff:10.0.0.1')).toBe('private')
  })

  it('rejects malformed allowlist entries', () => {
    expect(() => parseAllowlist(['10.0.0.0/33'])).toThrow(/CIDR/)
    expect(() => parseAllowlist(['not a host!'])).toThrow(/neither/)
  })
})
