import * as v from 'valibot'
import { ErrorBody, PublishReply, type PublishResult } from '../../shared/bridge-contract'
import type { LibraryEvent } from '../../shared/events'
import { entityKeyOf } from '../db/outbox'
import type { Config } from '../env'

export type PublishOutcome = { event_id: string } & ({ seq: number; duplicate: boolean } | { error: string })

export type BridgeConfig = Pick<Config, 'BRIDGE_URL' | 'BRIDGE_TOKEN' | 'BRIDGE_TIMEOUT_MS'>

const bridgeUrl = (config: BridgeConfig, path: string) => `${config.BRIDGE_URL.replace(/\/+$/, '')}${path}`

const toOutcome = (r: PublishResult): PublishOutcome =>
  'seq' in r
    ? { event_id: r.event_id, seq: r.seq, duplicate: r.duplicate }
    : { event_id: r.event_id, error: `${r.error.code}: ${r.error.message}` }

/** The statuses with which the bridge refuses a whole batch for what one of its events holds. */
const REFUSED_FOR_AN_EVENT = new Set([400, 413])

interface Posted {
  outcomes: PublishOutcome[]
  /** The whole batch was refused for its content, without a result per event. */
  refusedWhole: boolean
}

const postBatch = async (config: BridgeConfig, events: readonly LibraryEvent[]): Promise<Posted> => {
  const failAll = (error: string, refusedWhole = false): Posted => ({
    outcomes: events.map((e) => ({ event_id: e.event_id, error })),
    refusedWhole,
  })
  let res: Response
  try {
    res = await fetch(bridgeUrl(config, '/v1/events'), {
      method: 'POST',
      headers: { authorization: `Bearer ${config.BRIDGE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
      signal: AbortSignal.timeout(config.BRIDGE_TIMEOUT_MS),
    })
  } catch (err) {
    return failAll(`bridge unreachable: ${err instanceof Error ? err.message : String(err)}`)
  }
  const body: unknown = await res.json().catch(() => undefined)
  let results: PublishResult[]
  if (res.status === 202 || res.status === 200) {
    const accepted = v.safeParse(PublishReply, body)
    if (!accepted.success) return failAll(`bridge answered ${res.status} with an unexpected body`)
    results = accepted.output.results
  } else {
    const refusedWhole = REFUSED_FOR_AN_EVENT.has(res.status)
    const rejected = v.safeParse(ErrorBody, body)
    if (!rejected.success) return failAll(`bridge answered ${res.status}`, refusedWhole)
    const partial = v.safeParse(PublishReply, rejected.output.error.details)
    if (!partial.success) {
      return failAll(`bridge answered ${res.status} ${rejected.output.error.code}`, refusedWhole)
    }
    results = partial.output.results
  }
  const byId = new Map(results.map((r) => [r.event_id, toOutcome(r)]))
  return {
    outcomes: events.map(
      (e) => byId.get(e.event_id) ?? { event_id: e.event_id, error: 'no result from the bridge' },
    ),
    refusedWhole: false,
  }
}

/**
 * Posts a batch to the bridge's `POST /v1/events`. Every event gets an outcome: acked ones carry
 * their stream sequence, everything else an error text. Never throws. When the bridge refuses the
 * whole batch for one event's content, each event is sent again alone, in order: an event the
 * bridge will never take then holds back only itself (and its entity's later events), not every
 * row the drain claims after it.
 */
export const publishBatch = async (
  config: BridgeConfig,
  events: readonly LibraryEvent[],
): Promise<PublishOutcome[]> => {
  const posted = await postBatch(config, events)
  if (!posted.refusedWhole || events.length < 2) return posted.outcomes
  const outcomes: PublishOutcome[] = []
  const heldKeys = new Set<string>()
  for (const event of events) {
    const key = entityKeyOf(event)
    if (key !== null && heldKeys.has(key)) {
      outcomes.push({ event_id: event.event_id, error: 'held back behind an older event of its entity' })
      continue
    }
    const [outcome] = (await postBatch(config, [event])).outcomes
    if (key !== null && 'error' in outcome!) heldKeys.add(key)
    outcomes.push(outcome!)
  }
  return outcomes
}

export type ProbeResult = { ok: boolean; status: number | null; body: unknown; rtt_ms: number }

export const probeBridge = async (
  config: BridgeConfig,
  path: string,
  timeoutMs: number,
): Promise<ProbeResult> => {
  const started = Date.now()
  try {
    const res = await fetch(bridgeUrl(config, path), {
      headers: { authorization: `Bearer ${config.BRIDGE_TOKEN}` },
      signal: AbortSignal.timeout(timeoutMs),
    })
    const body: unknown = await res.json().catch(() => undefined)
    return { ok: res.ok, status: res.status, body, rtt_ms: Date.now() - started }
  } catch {
    return { ok: false, status: null, body: undefined, rtt_ms: Date.now() - started }
  }
}
