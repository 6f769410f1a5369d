import * as v from 'valibot'
import type { LibraryEvent } from '../../shared/events'
import type { Config } from '../env'

const Ack = v.object({ event_id: v.string(), stream: v.string(), seq: v.number(), duplicate: v.boolean() })
const Failure = v.object({ event_id: v.string(), error: v.object({ code: v.string(), message: v.string() }) })
const Results = v.array(v.union([Ack, Failure]))
const Accepted = v.object({ results: Results })
const Rejected = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.unknown()),
  }),
})
const PartialDetails = v.object({ results: Results })

export type PublishOutcome = { event_id: string } & ({ seq: number; duplicate: boolean } | { error: string })

export type BridgeConfig = Pick<Config, 'BRIDGE_URL' | 'BRIDGE_TOKEN' | 'BRIDGE_TIMEOUT_MS'>

const bridgeUrl = (config: BridgeConfig, path: string) => `${config.BRIDGE_URL.replace(/\/+$/, '')}${path}`

const toOutcome = (r: v.InferOutput<typeof Results>[number]): PublishOutcome =>
  'seq' in r
    ? { event_id: r.event_id, seq: r.seq, duplicate: r.duplicate }
    : { event_id: r.event_id, error: `${r.error.code}: ${r.error.message}` }

/**
 * Posts a batch to the bridge's `POST /v1/events`. Every event gets an outcome: acked ones carry
 * their stream sequence, everything else an error text. Never throws.
 */
export const publishBatch = async (
  config: BridgeConfig,
  events: readonly LibraryEvent[],
): Promise<PublishOutcome[]> => {
  const failAll = (error: string) => events.map((e) => ({ event_id: e.event_id, error }))
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
  let results: v.InferOutput<typeof Results> | undefined
  if (res.status === 202 || res.status === 200) {
    const accepted = v.safeParse(Accepted, body)
    if (!accepted.success) return failAll(`bridge answered ${res.status} with an unexpected body`)
    results = accepted.output.results
  } else {
    const rejected = v.safeParse(Rejected, body)
    if (!rejected.success) return failAll(`bridge answered ${res.status}`)
    const partial = v.safeParse(PartialDetails, rejected.output.error.details)
    if (!partial.success) return failAll(`bridge answered ${res.status} ${rejected.output.error.code}`)
    results = partial.output.results
  }
  const byId = new Map(results.map((r) => [r.event_id, toOutcome(r)]))
  return events.map(
    (e) => byId.get(e.event_id) ?? { event_id: e.event_id, error: 'no result from the bridge' },
  )
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
