import { errorResponse } from '../../shared/openapi/document'

export const token = { security: 'bearer' } as const
export const invalid = errorResponse('Invalid input, with per-field issues in details')
export const unauthorized = errorResponse('Missing or unknown token')
export const forbidden = errorResponse("The token's scopes do not cover the subject")
export const unavailable = errorResponse('NATS is not connected (Retry-After says when to retry)')
