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
export const parseAllowlist = (entries: readonly string[], allowPrivate = false): SsrfPolicy => {
  const hosts: string[] = []
  const ranges: Array<[Address, number]> = []
  for (const raw of entries) {
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
        throw new Error(`'${raw}' is not a valid CIDR range`)
      }
    } else if (ipaddr.isValid(entry)) {
      const address = normalise(ipaddr.parse(entry))
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128])
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)) {
      hosts.push(entry.replace(/\.$/, ''))
    } else {
      throw new Error(`'${raw}' is neither an IP address, a CIDR range nor a host name`)
    }
  }
  return { allowPrivate, hosts, ranges }
}

/** IPv4-mapped IPv6 addresses are treated as the IPv4 address they carry. */
const normalise = (address: Address): Address =>
  address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address

/** The IPv4 address inside translation and tunnelling forms (NAT64, SIIT, 6to4). */
const embeddedIPv4 = (address: ipaddr.IPv6): ipaddr.IPv4 | undefined => {
  const bytes = address.toByteArray()
  switch (address.range()) {
    case 'rfc6052':
    case 'rfc6145':
      return new ipaddr.IPv4(bytes.slice(12, 16))
    case '6to4':
      return new ipaddr.IPv4(bytes.slice(2, 6))
    default:
      return undefined
  }
}

/** The range name that makes an address non-public, or undefined for public unicast. */
export const restrictedRange = (input: string | Address): string | undefined => {
  const address = normalise(typeof input === 'string' ? ipaddr.parse(input) : input)
  const range = address.range()
  if (address.kind() === 'ipv6') {
    const inner = embeddedIPv4(address as ipaddr.IPv6)
    if (inner) {
      const innerRange = inner.range()
      return innerRange === 'unicast' ? undefined : `${range} form of ${innerRange}`
    }
  }
  return range === 'unicast' ? undefined : range
}

const hostAllowed = (policy: SsrfPolicy, hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  return policy.hosts.some((entry) =>
    entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry,
  )
}

const inAllowedRange = (policy: SsrfPolicy, address: Address): boolean =>
  policy.ranges.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits))

/** Throws unless connecting to `address` (for `hostname`) is allowed. */
export const checkAddress = (policy: SsrfPolicy, hostname: string, addressText: string): void => {
  if (policy.allowPrivate || hostAllowed(policy, hostname)) return
  if (!ipaddr.isValid(addressText))
    throw new SsrfError(`refused: ${hostname} resolved to an unparseable address`)
  const address = normalise(ipaddr.parse(addressText))
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
