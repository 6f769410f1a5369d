import { HttpError } from '../../shared/http-error'

const ATTEMPTS = 10

/**
 * Runs a read followed by a write conditional on what was read, again while the write misses
 * because a concurrent change won the race (`attempt` answers undefined); each attempt re-reads.
 */
export const untilApplied = async <T>(
  attempt: () => Promise<T | undefined>,
  subject: Record<string, unknown>,
): Promise<T> => {
  for (let i = 0; i < ATTEMPTS; i++) {
    const result = await attempt()
    if (result !== undefined) return result
  }
  throw new HttpError(409, 'concurrent_update', 'The resource kept changing concurrently; retry', subject)
}
