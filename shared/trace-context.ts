/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
 * values that travel with a request, an event's metadata, a NATS header and a webhook delivery.
 * A value that is not valid is dropped, never repaired: a receiver then starts a new trace.
 */
/** Version 00 exactly; a later version may append fields after a dash, which a reader ignores. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const VERSION_00_LENGTH = 55
const ALL_ZEROS = /^0+$/
/** At most 32 `key=value` members (the spec's limit), 512 characters in all (what every vendor must propagate). */
const TRACESTATE_MAX_LENGTH = 512
const TRACESTATE_MAX_MEMBERS = 32
/** A simple key starts with a letter; a multi-tenant key is `tenant@system`, the tenant may start with a digit. */
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

export interface TraceContext {
  traceparent: string
  tracestate?: string
}

/** A W3C traceparent (a later version cut to the fields it shares with 00), or undefined when the value is not one. */
export const validTraceparent = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined
  const parts = TRACEPARENT.exec(value)
  if (!parts) return undefined
  const [, version = '', traceId = '', parentId = '', , rest] = parts
  if (version === 'ff' || ALL_ZEROS.test(traceId) || ALL_ZEROS.test(parentId)) return undefined
  if (rest === undefined) return value
  // the spec's forward compatibility: a later version is read for the fields version 00 knows
  return version === '00' ? undefined : value.slice(0, VERSION_00_LENGTH)
}

/** A W3C tracestate, or undefined when the value is not one (it is then dropped, as the spec allows). */
export const validTracestate = (value: unknown): string | undefined => {
  if (typeof value !== 'string' || value.length === 0 || value.length > TRACESTATE_MAX_LENGTH)
    return undefined
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '')
  if (members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS) return undefined
  return members.every((member) => TRACESTATE_MEMBER.test(member)) ? value : undefined
}

/** The trace context carried by a set of headers, or undefined without a valid traceparent. */
export const traceContextFrom = (
  header: (name: string) => string | null | undefined,
): TraceContext | undefined => {
  const traceparent = validTraceparent(header('traceparent'))
  if (!traceparent) return undefined
  const tracestate = validTracestate(header('tracestate'))
  return tracestate ? { traceparent, tracestate } : { traceparent }
}
