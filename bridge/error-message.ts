/** The message of whatever was thrown, for a log line or a status field. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))
