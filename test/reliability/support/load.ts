export interface LoadResult<T> {
  sent: number
  acked: T[]
  /** Failed attempts by HTTP status (0 for a network error). */
  failures: Map<number, number>
}

export interface LoadOptions<T> {
  total: number
  concurrency: number
  /** One request: resolves to the acknowledged value, or to a status number when refused. */
  send: (index: number) => Promise<{ ok: true; value: T } | { ok: false; status: number }>
  /** Called after each answered request with how many were sent so far. */
  onProgress?: (sent: number) => void | Promise<void>
}

/** `total` requests from `concurrency` workers; a refused request is counted, not retried. */
export const runLoad = async <T>({ total, concurrency, send, onProgress }: LoadOptions<T>) => {
  const result: LoadResult<T> = { sent: 0, acked: [], failures: new Map() }
  let next = 0
  const worker = async () => {
    while (next < total) {
      const index = next++
      result.sent++
      let outcome: Awaited<ReturnType<typeof send>>
      try {
        outcome = await send(index)
      } catch {
        outcome = { ok: false, status: 0 }
      }
      if (outcome.ok) result.acked.push(outcome.value)
      else result.failures.set(outcome.status, (result.failures.get(outcome.status) ?? 0) + 1)
      await onProgress?.(result.sent)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return result
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` until it returns a value; rejects after `timeoutMs`. */
export const waitFor = async <T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await sleep(intervalMs)
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  )
}

/** Resolves once `url` answers 200. */
export const waitForOk = (url: string, timeoutMs = 60_000) =>
  waitFor(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await res.arrayBuffer()
      return res.status === 200 ? true : undefined
    },
    `${url} to answer 200`,
    timeoutMs,
    50,
  )
