import { type ClientRequestOptions, hc } from 'hono/client'
import type { AppType } from './app'

export type { AppType } from './app'

/** A typed client of the functions API: `await client.api.v1.entities.$post({ json })`. */
export const createFunctionsClient = (baseUrl: string, apiKey: string, options: ClientRequestOptions = {}) =>
  hc<AppType>(baseUrl, {
    ...options,
    headers: {
      ...(options.headers as Record<string, string> | undefined),
      authorization: `Bearer ${apiKey}`,
    },
  })
