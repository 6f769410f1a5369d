import type { DeliveryOutcome } from './deliver'
import type { DeliveryStatus } from './schema'

export const REFUSED_BY_POLICY = 'target refused by policy'
export const CONNECTION_FAILED = 'connection failed'
export const TIMED_OUT = 'timed out'

type Failure = Exclude<DeliveryOutcome, { kind: 'delivered' }>

/**
 * What a subscription's owner is told about a failed delivery. Resolved addresses, resolver
 * errors and the kind of connection failure (refused, unreachable, no DNS answer, no answer to
 * the handshake) would map the network behind the bridge; they go to the bridge log only.
 */
export const coarseReason = (outcome: Failure): string => {
  if (outcome.kind === 'refused') return REFUSED_BY_POLICY
  if (outcome.status !== undefined) {
    return outcome.status >= 300 && outcome.status < 400
      ? `HTTP ${outcome.status} (redirects are not followed)`
      : `HTTP ${outcome.status}`
  }
  return outcome.kind === 'failed' && outcome.connected ? TIMED_OUT : CONNECTION_FAILED
}

const COARSE = new Set([REFUSED_BY_POLICY, CONNECTION_FAILED, TIMED_OUT])
const HTTP = /^HTTP \d{3}( \(redirects are not followed\))?$/

/** A stored `last_error` as the API shows it; one written in another form is reduced to its status. */
export const publicLastError = (status: DeliveryStatus): DeliveryStatus['last_error'] => {
  const last = status.last_error
  if (!last || COARSE.has(last.message) || HTTP.test(last.message)) return last
  const message =
    last.status !== null
      ? `HTTP ${last.status}`
      : last.message.startsWith('refused:')
        ? REFUSED_BY_POLICY
        : CONNECTION_FAILED
  return { ...last, message }
}
