export interface BackoffOptions {
  initialMs: number
  maxMs: number
  factor: number
  /** Fraction of the delay that is randomised: 0 = none, 1 = "full jitter". */
  jitter: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 }

/** Delay before retry number `attempt` (0-based), always within [ceiling·(1−jitter), ceiling]. */
export const backoffDelay = (
  attempt: number,
  options: Partial<BackoffOptions> = {},
  random: () => number = Math.random,
): number => {
  const { initialMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options }
  const exponent = Number.isNaN(attempt) ? 0 : Math.max(0, Math.floor(attempt))
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.min(exponent, 64))
  const spread = Math.min(1, Math.max(0, jitter))
  return Math.round(ceiling * (1 - spread * random()))
}
