import type * as v from 'valibot'

export type ErrorDetails = unknown

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: ErrorDetails }
}

export const errorBody = (
  code: string,
  message: string,
  requestId: string,
  details?: ErrorDetails,
): ErrorBody => ({
  error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) },
})

export interface FieldIssue {
  path: string
  message: string
}

const issuePath = (issue: v.BaseIssue<unknown>): string =>
  (issue.path ?? []).map((item) => String(item.key)).join('.')

export const issuesToDetails = (issues: readonly v.BaseIssue<unknown>[], prefix = ''): FieldIssue[] =>
  issues.map((issue) => ({
    path: [prefix, issuePath(issue)].filter(Boolean).join('.') || '(root)',
    message: issue.message,
  }))

/** The first issue on one line (`path: message`), for configuration errors. */
export const firstIssue = (issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string => {
  const path = issuePath(issues[0])
  return path ? `${path}: ${issues[0].message}` : issues[0].message
}

export const invalidInput = (issues: readonly v.BaseIssue<unknown>[], prefix = ''): HttpError =>
  new HttpError(400, 'invalid_input', 'The request is not valid', issuesToDetails(issues, prefix))
