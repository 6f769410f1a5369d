import type { SwapOutcomeEventType } from '../../shared/swap-execution'

export const SWAP_STATUSES = [
  'pending',
  'validated',
  'rejected',
  'completed',
  'failed',
  'unknown',
  'rolled_back',
] as const
export type SwapStatus = (typeof SWAP_STATUSES)[number]

/**
 * Where the executor's answer to an execute command may still settle a swap from: `unknown` is a
 * swap the Cron Trigger took for dead, whose answer still counts.
 */
export const ANSWERABLE_FROM: readonly SwapStatus[] = ['pending', 'unknown']

/** Only a completed swap may be rolled back. */
export const ROLLBACK_FROM: readonly SwapStatus[] = ['completed']

/** Which outcome events settle a swap, from which statuses, and into which. */
export const SETTLES: Record<SwapOutcomeEventType, { from: readonly SwapStatus[]; to: SwapStatus }> = {
  'swap.completed': { from: ANSWERABLE_FROM, to: 'completed' },
  'swap.failed': { from: ANSWERABLE_FROM, to: 'failed' },
  'swap.rolled_back': { from: ROLLBACK_FROM, to: 'rolled_back' },
}

export const isOutcomeEventType = (type: string): type is SwapOutcomeEventType => Object.hasOwn(SETTLES, type)
