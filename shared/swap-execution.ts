import * as v from 'valibot'
import { SwapCommand } from './swap'

/**
 * The command as the Library sends it: `reply_timeout_ms` tells the executor how long the Library
 * waits for the reply. An executor that finishes after that publishes `library.swap.completed` /
 * `library.swap.failed` itself, which is how a swap left `unknown` gets settled.
 */
export const LibrarySwapCommand = v.object({
  ...SwapCommand.entries,
  reply_timeout_ms: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
})
export type LibrarySwapCommand = v.InferOutput<typeof LibrarySwapCommand>

export type SwapOutcomeEventType = 'swap.completed' | 'swap.failed' | 'swap.rolled_back'

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * One event id per (swap, outcome): the executor's late event and the Library's own copy carry the
 * same id, so JetStream (Nats-Msg-Id) and consumers keep only one of them.
 */
export const swapOutcomeEventId = async (
  swapId: string,
  eventType: SwapOutcomeEventType,
): Promise<string> => {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${swapId.toLowerCase()}:${eventType}`)),
  ).slice(0, 16)
  digest[6] = (digest[6]! & 0x0f) | 0x80
  digest[8] = (digest[8]! & 0x3f) | 0x80
  const h = hex(digest)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
