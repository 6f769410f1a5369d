import * as v from 'valibot'
import { errorResponse } from '../../shared/openapi/document'

/** Ids the examples use; they name nothing, so the real app answers them 404. */
export const ENTITY_ID = '6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f'
export const OTHER_ENTITY_ID = '0b7d4c1e-2f3a-4b5c-8d9e-1f2a3b4c5d6e'
export const DEPLOYMENT_ID = '3c9e7a52-1d4b-4f6e-a8c0-5b2d9e1f7a34'
export const SWAP_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'

export const api = { security: 'apiKey' } as const
export const forwarded = { security: 'forwardToken' } as const

/** W3C trace context a change continues: recorded in its events' metadata and passed to the executor. */
export const TRACE_CONTEXT_HEADERS = {
  traceparent: {
    description:
      "W3C trace context: recorded in the metadata of every event this request causes, so consumers continue the caller's trace (an invalid value is ignored)",
  },
  tracestate: { description: 'W3C trace state, kept with a valid traceparent' },
}
/** For the operations that emit events. */
export const traced = { headers: TRACE_CONTEXT_HEADERS } as const

export const idOf = (what: string) => ({ id: { description: `The ${what}'s id (UUID)` } })
export const invalid = errorResponse('Invalid input, with per-field issues in details')
export const unauthorized = errorResponse('Missing or unknown API key')
export const forbidden = errorResponse('The API key lacks the scope')
export const notFound = (what: string) => errorResponse(`No such ${what}`)
export const conflict = (why: string) => errorResponse(why)

export const page = <S extends v.GenericSchema>(item: S) =>
  v.object({ items: v.array(item), next_cursor: v.nullable(v.string()) })
