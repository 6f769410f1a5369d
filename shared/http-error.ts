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

const describeInput = (input: unknown): string => {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'an array'
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`
}

/**
 * An issue's message without the value it is about, for configuration errors (which may hold
 * secrets): valibot's default messages quote the input, so those are rewritten from `expected`.
 */
export const issueMessageWithoutValue = (issue: v.BaseIssue<unknown>): string => {
  const isDefault =
    issue.message.startsWith('Invalid ') && issue.message.endsWith(`eceived ${issue.received}`)
  if (!isDefault) return issue.message
  if (issue.expected === 'never') return 'unknown key'
  if (issue.input === undefined) return 'is required'
  if (issue.kind === 'schema')
    return `expected ${issue.expected ?? issue.type}, got ${describeInput(issue.input)}`
  return issue.expected ? `invalid ${issue.type}: expected ${issue.expected}` : `invalid ${issue.type}`
}

/** Unknown keys are named when they look like a misspelt field (lower-case snake case). */
const FIELD_NAME = /^[a-z][a-z0-9_]{0,31}$/

/** The path of an issue; a key that was itself judged (invalid or unknown) is left out unless it looks like a field name. */
const issuePathWithoutValue = (issue: v.BaseIssue<unknown>): string =>
  (issue.path ?? [])
    .map((item) => {
      const judged = item.origin === 'key' && issue.input !== undefined
      return judged && !(issue.expected === 'never' && FIELD_NAME.test(String(item.key)))
        ? '(key)'
        : String(item.key)
    })
    .join('.')

/** The first issue on one line (`path: message`) for configuration errors; never quotes the value. */
export const firstIssue = (issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string => {
  const path = issuePathWithoutValue(issues[0])
  const message = issueMessageWithoutValue(issues[0])
  return path ? `${path}: ${message}` : message
}

export const invalidInput = (issues: readonly v.BaseIssue<unknown>[], prefix = ''): HttpError =>
  new HttpError(400, 'invalid_input', 'The request is not valid', issuesToDetails(issues, prefix))
