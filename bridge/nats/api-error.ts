import { NatsError } from 'nats'

export const STREAM_NOT_FOUND = 10059
export const CONSUMER_NOT_FOUND = 10014

/** True when `err` is the JetStream API error with this `err_code`. */
export const isApiError = (err: unknown, code: number): boolean =>
  err instanceof NatsError && err.api_error?.err_code === code
