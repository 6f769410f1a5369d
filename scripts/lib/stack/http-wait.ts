import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `url` until it answers 2xx; returns the last status/error text when it gives up. */
export const waitForHttpOk = async (
  url: string,
  opts: { timeoutMs: number; alive?: () => boolean; headers?: Record<string, string> },
): Promise<{ ok: true } | { ok: false; last: string }> => {
  const deadline = Date.now() + opts.timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (opts.alive && !opts.alive()) return { ok: false, last }
    try {
      const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(2_000) })
      if (res.ok) {
        await res.body?.cancel()
        return { ok: true }
      }
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 300)}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(200)
  }
  return { ok: false, last }
}
