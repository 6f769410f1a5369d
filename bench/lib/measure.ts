export interface Sample {
  /** Operations per second (events for publishes, requests for request/reply). */
  rate: number
  p50: number
  p99: number
  failures: number
  /** Operations completed (events, requests or deliveries). */
  count: number
  seconds: number
  /** The first few distinct failure messages. */
  errors?: string[]
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const summarize = (latencies: number[], count: number, seconds: number, failures = 0): Sample => {
  latencies.sort((a, b) => a - b)
  return {
    rate: count / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures,
    count,
    seconds,
  }
}

/**
 * Runs `op` from `concurrency` loops for `durationS` seconds; `op` resolves to the number of
 * operations it completed (a batch counts its events). Latencies are per call, in milliseconds.
 */
export const runLoops = async (
  concurrency: number,
  durationS: number,
  op: () => Promise<number>,
): Promise<Sample> => {
  const latencies: number[] = []
  let done = 0
  let failures = 0
  const errors = new Set<string>()
  const started = performance.now()
  const until = started + durationS * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now()
        try {
          const n = await op()
          latencies.push(performance.now() - t)
          done += n
        } catch (err) {
          failures++
          const message = err instanceof Error ? err.message : String(err)
          if (errors.size < 3) errors.add(message)
        }
      }
    }),
  )
  const sample = summarize(latencies, done, (performance.now() - started) / 1000, failures)
  return errors.size > 0 ? { ...sample, errors: [...errors] } : sample
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
