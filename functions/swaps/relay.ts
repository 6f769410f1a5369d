import * as v from 'valibot'
import {
  ErrorBody,
  NO_RESPONDERS,
  RELAY_TIMEOUT_HEADER,
  REQUEST_ID_HEADER,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
} from '../../shared/bridge-contract'
import { findTooDeep } from '../../shared/json-depth'
import { SWAP_COMMAND_SUBJECT } from '../../shared/subjects'
import { SwapResponse } from '../../shared/swap'
import type { LibrarySwapCommand } from '../../shared/swap-execution'
import type { Config } from '../env'
import type { ActionContext } from '../services/context'

export type RelayOutcome =
  | { kind: 'reply'; response: SwapResponse }
  | { kind: 'no_responders' }
  | { kind: 'timeout' }
  /** The executor answered, but not with a SwapResponse for this swap. */
  | { kind: 'invalid_reply'; message: string }
  /** The command never reached NATS (bridge unreachable, NATS down, refused). */
  | { kind: 'unavailable'; message: string }

export type RelayConfig = Pick<Config, 'BRIDGE_URL' | 'BRIDGE_TOKEN' | 'MAX_JSON_DEPTH'>

/** Extra time for the HTTP hop on top of the NATS request timeout the bridge enforces. */
const HTTP_MARGIN_MS = 5_000

/**
 * Sends the command through the bridge's request/reply relay and classifies whatever comes back.
 * The caller's trace context goes along, so the relay and the executor continue its trace.
 */
export const relaySwapCommand = async (
  config: RelayConfig,
  command: LibrarySwapCommand,
  timeoutMs: number,
  { requestId, trace }: Pick<ActionContext, 'requestId' | 'trace'>,
): Promise<RelayOutcome> => {
  const url = `${config.BRIDGE_URL.replace(/\/+$/, '')}/v1/request/${SWAP_COMMAND_SUBJECT}`
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${config.BRIDGE_TOKEN}`,
        'content-type': 'application/json',
        [RELAY_TIMEOUT_HEADER]: String(timeoutMs),
        [REQUEST_ID_HEADER]: requestId,
        ...(trace && { traceparent: trace.traceparent }),
        ...(trace?.tracestate && { tracestate: trace.tracestate }),
      },
      body: JSON.stringify(command),
      signal: AbortSignal.timeout(timeoutMs + HTTP_MARGIN_MS),
    })
  } catch (err) {
    // the bridge may have relayed the command before the HTTP hop gave up
    if (err instanceof Error && err.name === 'TimeoutError') return { kind: 'timeout' }
    return {
      kind: 'unavailable',
      message: `bridge unreachable: ${err instanceof Error ? err.message : String(err)}`,
    }
  }
  const text = await res.text().catch(() => '')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (res.status !== 200) {
    const error = v.safeParse(ErrorBody, body)
    const code = error.success ? error.output.error.code : `http_${res.status}`
    if (res.status === 503 && code === NO_RESPONDERS) return { kind: 'no_responders' }
    if (res.status === 504) return { kind: 'timeout' }
    return { kind: 'unavailable', message: `bridge answered ${res.status} ${code}` }
  }
  const serviceError = res.headers.get(SERVICE_ERROR_HEADER)
  if (serviceError !== null) {
    const code = res.headers.get(SERVICE_ERROR_CODE_HEADER) ?? '?'
    return { kind: 'invalid_reply', message: `executor error ${code}: ${serviceError}` }
  }
  // validation_results travels on in swap events, which the bridge holds to the same depth limit
  if (findTooDeep(body, config.MAX_JSON_DEPTH) !== undefined)
    return {
      kind: 'invalid_reply',
      message: `the executor reply nests deeper than ${config.MAX_JSON_DEPTH} levels`,
    }
  const parsed = v.safeParse(SwapResponse, body)
  if (!parsed.success) return { kind: 'invalid_reply', message: 'the executor reply is not a SwapResponse' }
  if (parsed.output.swap_id.toLowerCase() !== command.swap_id)
    return { kind: 'invalid_reply', message: 'the executor reply is about another swap' }
  return { kind: 'reply', response: parsed.output }
}
