import { lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

export interface SsrfPolicy {
  /** Every address is allowed (development only). */
  allowPrivate: boolean
  /** Lower-case host names allowed whatever they resolve to; `*.example.com` matches subdomains. */
  hosts: readonly string[]
  /** Addresses and CIDR ranges allowed even though they are not public unicast. */
  ranges: ReadonlyArray<readonly [Address, number]>
  /** Inclusive port ranges a target URL may name (its scheme's default port when it names none). */
  ports: PortRanges
}

export type PortRanges = ReadonlyArray<readonly [number, number]>

/** The well-known web ports and every unprivileged one; system services (22, 25, 53, …) are refused. */
export const DEFAULT_PORTS = '80,443,1024-65535'

/** Parses `WEBHOOK_ALLOWED_PORTS`: ports and inclusive ranges, comma-separated (`443,8000-8999`). */
export const parsePorts = (spec: string): PortRanges => {
  const ranges: Array<[number, number]> = []
  for (const raw of spec.split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(entry)
    const low = Number(match?.[1])
    const high = Number(match?.[2] ?? match?.[1])
    if (!match || low < 1 || high > 65_535 || high < low)
      throw new Error('entries must be ports (1-65535) or ranges like 8000-8999')
    ranges.push([low, high])
  }
  if (ranges.length === 0) throw new Error('lists no port')
  return ranges
}

export class SsrfError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SsrfError'
  }
}

export type ResolveAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>

const systemResolve: ResolveAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    )
  })

/** Parses `WEBHOOK_ALLOWED_HOSTS` entries: IPs, CIDR ranges and host names. */
export const parseAllowlist = (
  entries: readonly string[],
  allowPrivate = false,
  ports: PortRanges = parsePorts(DEFAULT_PORTS),
): SsrfPolicy => {
  const hosts: string[] = []
  const ranges: Array<[Address, number]> = []
  for (const [index, raw] of entries.entries()) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
    if (entry === '') continue
    if (entry.includes('/')) {
      try {
        const [address, bits] = ipaddr.parseCIDR(entry)
        ranges.push([
          normalise(address),
          address.kind() === 'ipv6' && normalise(address).kind() === 'ipv4' ? bits - 96 : bits,
        ])
      } catch {
        throw new Error(`entry ${index + 1} is not a valid CIDR range`)
      }
    } else if (ipaddr.isValid(entry)) {
      const address = normalise(parseAddress(entry))
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128])
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)) {
      hosts.push(entry.replace(/\.$/, ''))
    } else {
      throw new Error(`entry ${index + 1} is neither an IP address, a CIDR range nor a host name`)
    }
  }
  return { allowPrivate, hosts, ranges, ports }
}

/** Parses an address as the URL parser writes it (`::127.0.0.1` is `::7f00:1`, not IPv4-mapped). */
const parseAddress = (text: string): Address => {
  if (text.includes(':') && text.includes('.')) {
    try {
      return ipaddr.parse(new URL(`http://[${text}]/`).hostname.slice(1, -1))
    } catch {
      // left to ipaddr, which refuses it
    }
  }
  return ipaddr.parse(text)
}

/** IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as the IPv4 address they carry. */
const normalise = (address: Address): Address =>
  address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address

const prefixed = (bytes: number[], prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b)
const ZERO_96 = Array(12).fill(0) as number[]
const NAT64_WELL_KNOWN = [0x00, 0x64, 0xff, 0x9b, ...Array(8).fill(0)] as number[]
const NAT64_LOCAL_USE = [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01]
const SIIT = [...Array(8).fill(0), 0xff, 0xff, 0, 0] as number[]

/**
 * IPv6 forms that carry an IPv4 address. Translation forms a network really routes (NAT64 with
 * the well-known prefix, SIIT) are judged by the IPv4 address inside (`inner`); forms that are
 * deprecated or whose IPv4 part is not where a fixed rule says (IPv4-compatible `::/96`, 6to4,
 * Teredo, local-use NAT64 `64:ff9b:1::/48`) are refused outright (`inner` undefined) unless
 * their range is allowlisted.
 */
const embedding = (address: ipaddr.IPv6): { form: string; inner?: ipaddr.IPv4 } | undefined => {
  const bytes = address.toByteArray()
  const tail = () => new ipaddr.IPv4(bytes.slice(12, 16))
  if (prefixed(bytes, NAT64_WELL_KNOWN)) return { form: 'NAT64', inner: tail() }
  if (prefixed(bytes, SIIT)) return { form: 'SIIT', inner: tail() }
  if (prefixed(bytes, NAT64_LOCAL_USE)) return { form: 'local-use NAT64' }
  if (prefixed(bytes, ZERO_96)) {
    const range = address.range()
    // `::` and `::1` are reported under their own names.
    return range === 'unspecified' || range === 'loopback' ? undefined : { form: 'IPv4-compatible' }
  }
  if (prefixed(bytes, [0x20, 0x02])) return { form: '6to4' }
  if (prefixed(bytes, [0x20, 0x01, 0x00, 0x00])) return { form: 'Teredo' }
  return undefined
}

/** The range name that makes an address non-public, or undefined for public unicast. */
export const restrictedRange = (input: string | Address): string | undefined => {
  const address = normalise(typeof input === 'string' ? parseAddress(input) : input)
  if (address.kind() === 'ipv6') {
    const embedded = embedding(address as ipaddr.IPv6)
    if (embedded) {
      if (!embedded.inner) return embedded.form
      const innerRange = embedded.inner.range()
      return innerRange === 'unicast' ? undefined : `${embedded.form} form of ${innerRange}`
    }
  }
  const range = address.range()
  return range === 'unicast' ? undefined : range
}

const hostAllowed = (policy: SsrfPolicy, hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  return policy.hosts.some((entry) =>
    entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry,
  )
}

/**
 * An allowlisted IPv4 range does not admit its NAT64 or SIIT forms: those reach that address as
 * seen from the translator, another network. Allowlist the IPv6 range itself to admit them.
 */
const inAllowedRange = (policy: SsrfPolicy, address: Address): boolean =>
  policy.ranges.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits))

/** Throws unless connecting to `address` (for `hostname`) is allowed. */
export const checkAddress = (policy: SsrfPolicy, hostname: string, addressText: string): void => {
  if (policy.allowPrivate || hostAllowed(policy, hostname)) return
  if (!ipaddr.isValid(addressText))
    throw new SsrfError(`refused: ${hostname} resolved to an unparseable address`)
  const address = normalise(parseAddress(addressText))
  const range = restrictedRange(address)
  if (range === undefined || inAllowedRange(policy, address)) return
  const via = hostname === addressText ? '' : `${hostname} resolves to `
  throw new SsrfError(
    `refused: ${via}${addressText} is a ${range} address; allowlist it in WEBHOOK_ALLOWED_HOSTS`,
  )
}

/** Parses a target URL and refuses schemes other than http(s) and literal addresses the policy forbids. */
export const checkUrl = (policy: SsrfPolicy, raw: string): URL => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new SsrfError('refused: not a valid URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SsrfError(`refused: scheme '${url.protocol.replace(/:$/, '')}' is not http or https`)
  if (url.username || url.password) throw new SsrfError('refused: credentials in the URL')
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  if (!policy.ports.some(([low, high]) => port >= low && port <= high))
    throw new SsrfError(`refused: port ${port} is not allowed; allow it in WEBHOOK_ALLOWED_PORTS`)
  const host = hostOf(url)
  if (isIP(host)) checkAddress(policy, host, host)
  else if (host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost'))
    checkAddress(policy, host, '127.0.0.1')
  return url
}

/** `[::1]` → `::1`. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1')

/**
 * Resolves `hostname` and checks every answer, so the connection goes to an address that was
 * vetted (not to a second, possibly different, DNS answer).
 */
export const resolveChecked = async (
  policy: SsrfPolicy,
  hostname: string,
  resolve: ResolveAll = systemResolve,
): Promise<Array<{ address: string; family: number }>> => {
  if (isIP(hostname)) {
    checkAddress(policy, hostname, hostname)
    return [{ address: hostname, family: isIP(hostname) }]
  }
  let answers: Array<{ address: string; family: number }>
  try {
    answers = await resolve(hostname)
  } catch (err) {
    throw new Error(
      `cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  if (answers.length === 0) throw new Error(`cannot resolve ${hostname}: no addresses`)
  for (const { address } of answers) checkAddress(policy, hostname, address)
  return answers
}
