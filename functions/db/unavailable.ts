// SQLSTATE class 08 (connection exception), server shutting down or not accepting connections yet,
// too many connections
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/
const CONNECTION_FAILURE =
  /Network connection lost|Connection terminated|timeout exceeded when trying to connect|All attempts to open a WebSocket|ECONNREFUSED|ECONNRESET|socket hang up|Client has encountered a connection error|Cannot use a pool after calling end|Error connecting to database|Server error \(HTTP status 50[234]\)/i

/**
 * The Neon driver reports a WebSocket that cannot reach the database as a bare ErrorEvent, and the
 * pg client as an Error or a SQLSTATE; all of them mean the database is unreachable, not a bug.
 * Over HTTP, a fetch that fails or times out is a NeonDbError "Error connecting to database: …",
 * and an endpoint that cannot reach Postgres answers 502/503/504 ("Server error (HTTP status …)").
 */
export const isDatabaseUnavailable = (err: unknown): boolean => {
  if (typeof err !== 'object' || err === null) return false
  const { code, message, type } = err as { code?: unknown; message?: unknown; type?: unknown }
  const isErrorEvent = !(err instanceof Error) && type === 'error'
  return (
    isErrorEvent ||
    (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code)) ||
    (typeof message === 'string' && CONNECTION_FAILURE.test(message))
  )
}
