let waiting: Array<() => void> | undefined

const release = () => {
  const callers = waiting ?? []
  waiting = undefined
  for (const resolve of callers) resolve()
}

/**
 * Waits for `nextWrite` only when other publishes or requests are in flight: alone, a caller
 * gains nothing from waiting and would only add a loop turn to its latency.
 */
export const writeGate = () => {
  let inFlight = 0
  return async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight++
    try {
      if (inFlight > 1) await nextWrite()
      return await work()
    } finally {
      inFlight--
    }
  }
}

/**
 * Resolves in the check phase of the current event-loop turn, together with every other caller
 * of that turn. The client writes its outbound buffer once per microtask checkpoint, so the
 * publishes of all the HTTP requests read in one turn then leave in one socket write instead of
 * one write each.
 */
const nextWrite = (): Promise<void> =>
  new Promise((resolve) => {
    if (!waiting) {
      waiting = []
      setImmediate(release)
    }
    waiting.push(resolve)
  })
