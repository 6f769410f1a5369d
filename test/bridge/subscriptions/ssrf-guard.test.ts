import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliver } from '../../../bridge/subscriptions/deliver'
import {
  checkUrl,
  parseAllowlist,
  parsePorts,
  type ResolveAll,
  restrictedRange,
} from '../../../bridge/subscriptions/ssrf-guard'
import { Receiver } from '../support/receiver'

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
    'compat.example.test': [{ address: '::7f00:1', family: 6 }],
    'nat64.example.test': [{ address: '64:ff9b::a00:7', family: 6 }],
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
    ['NAT64 of loopback', () => 'http://[64:ff9b::7f00:1]/hook', /NAT64 form of loopback/],
    ['NAT64 of metadata', () => 'http://[64:ff9b::a9fe:a9fe]/', /NAT64 form of linkLocal/],
    ['SIIT of loopback', () => 'http://[::ffff:0:7f00:1]/hook', /SIIT form of loopback/],
    ['IPv4-compatible loopback [::7f00:1]', () => `http://[::7f00:1]:${port()}/hook`, /IPv4-compatible/],
    ['IPv4-compatible dotted [::127.0.0.1]', () => `http://[::127.0.0.1]:${port()}/hook`, /IPv4-compatible/],
    ['IPv4-compatible private [::a00:1]', () => 'http://[::a00:1]/hook', /IPv4-compatible/],
    ['IPv4-compatible public [::808:808]', () => 'http://[::808:808]/hook', /IPv4-compatible/],
    ['local-use NAT64', () => 'http://[64:ff9b:1::a00:1]/hook', /local-use NAT64/],
    ['6to4 of public', () => 'http://[2002:808:808::1]/hook', /is a 6to4 address/],
    ['Teredo', () => 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook', /is a Teredo address/],
    ['hostname resolving to IPv4-compatible', () => 'http://compat.example.test/', /IPv4-compatible/],
    ['hostname resolving to NAT64 of private', () => 'http://nat64.example.test/', /NAT64 form of private/],
    ['port 22', () => 'http://example.com:22/hook', /port 22 is not allowed/],
    ['port 25 over https', () => 'https://example.com:25/hook', /port 25 is not allowed/],
    ['6to4 of private', () => 'http://[2002:a00:1::1]/hook', /is a 6to4 address/],
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
    expect(restrictedRange('::ffff:0:5db8:d822')).toBeUndefined()
    expect(restrictedRange('::ffff:10.0.0.1')).toBe('private')
  })

  it('allowlisting an IPv4 range does not admit its IPv6 forms; allowlisting the IPv6 range does', () => {
    expect(() => checkUrl(parseAllowlist(['10.0.0.0/8']), 'http://[64:ff9b::a00:1]/')).toThrow(/NAT64/)
    expect(() => checkUrl(parseAllowlist(['64:ff9b::/96']), 'http://[64:ff9b::a00:1]/')).not.toThrow()
    expect(() => checkUrl(parseAllowlist(['10.0.0.0/8']), 'http://[::a00:1]/')).toThrow(/IPv4-compatible/)
    expect(() => checkUrl(parseAllowlist(['2002::/16']), 'http://[2002:808:808::1]/')).not.toThrow()
  })

  it('admits 80, 443 and 1024-65535 by default, and only the configured ports otherwise', () => {
    for (const url of [
      'http://example.com/',
      'https://example.com/',
      'http://example.com:1024/',
      'https://example.com:65535/',
    ])
      expect(() => checkUrl(strict, url), url).not.toThrow()
    for (const url of [
      'http://example.com:1/',
      'http://example.com:22/',
      'http://example.com:1023/',
      'https://example.com:6/',
    ])
      expect(() => checkUrl(strict, url), url).toThrow(/port \d+ is not allowed/)
    const only443 = parseAllowlist([], false, parsePorts('443'))
    expect(() => checkUrl(only443, 'https://example.com/')).not.toThrow()
    expect(() => checkUrl(only443, 'http://example.com/')).toThrow(/port 80 is not allowed/)
    expect(() => checkUrl(only443, 'https://example.com:8443/')).toThrow(/port 8443/)
    const open = parseAllowlist([], true, parsePorts('443,8000-8999'))
    expect(() => checkUrl(open, 'http://127.0.0.1:8500/')).not.toThrow()
    expect(() => checkUrl(open, 'http://127.0.0.1:9000/')).toThrow(/port 9000/)
  })

  it('rejects malformed port lists', () => {
    for (const spec of ['', '0', '65536', '80-70', 'http', '1-2-3', ' , '])
      expect(() => parsePorts(spec), spec).toThrow()
    expect(parsePorts(' 443 , 8000-8999 ')).toEqual([
      [443, 443],
      [8000, 8999],
    ])
  })

  it('rejects malformed allowlist entries', () => {
    expect(() => parseAllowlist(['10.0.0.0/33'])).toThrow(/CIDR/)
    expect(() => parseAllowlist(['not a host!'])).toThrow(/neither/)
  })
})
