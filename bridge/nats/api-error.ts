import { NatsError } from 'nats'

export const STREAM_NOT_FOUND = 10059
export const CONSUMER_NOT_FOUND = 10014
/** A write expecting a last sequence (a KV compare-and-set) found another one. */
export const WRONG_LAST_SEQUENCE = 10071

/** True when `err` is the JetStream API error with this `err_code`. */
export const isApiError = (err: unknown, code: number): boolean =>
  err instanceof NatsError && err.api_error?.err_code === code
