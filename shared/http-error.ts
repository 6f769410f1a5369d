import type * as v from 'valibot'
import type { WebhookFailureReason } from './webhook-signing'

export type ErrorDetails = unknown

/** Every `error.code` the functions and the bridge answer with. */
export type ErrorCode =
  | 'bad_environment'
  | 'bad_request'
  | 'batch_too_large'
  | 'concurrent_update'
  | 'conflict'
  | 'database_unavailable'
  | 'deployment_in_progress'
  | 'deployment_not_found'
  | 'entity_deleted'
  | 'entity_exists'
  | 'entity_not_found'
  | 'event_too_large'
  | 'forbidden'
  | 'forwarding_disabled'
  | 'idempotency_in_progress'
  | 'idempotency_key_reused'
  | 'internal_error'
  | 'invalid_from'
  | 'invalid_input'
  | 'invalid_last_event_id'
  | 'invalid_subject'
  | 'invalid_timeout'
  | 'invalid_token'
  | 'invalid_transition'
  | 'invalid_webhook_id'
  | 'json_too_deep'
  | 'malformed_json'
  | 'method_not_allowed'
  | 'nats_closed'
  | 'nats_unavailable'
  | 'no_responders'
  | 'not_found'
  | 'not_ready'
  | 'observe_required'
  | 'payload_too_large'
  | 'publish_failed'
  | 'registry_unavailable'
  | 'relay_failed'
  | 'reply_too_large'
  | 'reserved_subject'
  | 'same_entity'
  | 'stream_full'
  | 'stream_subject'
  | 'stream_unavailable'
  | 'subscription_limit_principal'
  | 'subscription_limit_total'
  | 'swap_not_found'
  | 'target_not_validated'
  | 'timeout'
  | 'too_many_streams'
  | 'type_mismatch'
  | 'type_not_allowed'
  | 'unauthorized'
  | 'unknown_source'
  | 'unknown_webhook_type'
  | 'unsupported_media_type'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'upstream_unreachable'
  | 'url_not_allowed'
  | 'version_mismatch'
  | WebhookFailureReason

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
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

/** `code` is a string: a relayed reply may carry a code another service chose. */
export const errorBody = (
  code: ErrorCode | (string & {}),
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

/** valibot's own message (`Invalid type: Expected … but received …`), not one a schema set. */
const isDefaultMessage = (issue: v.BaseIssue<unknown>) =>
  issue.message.startsWith('Invalid ') && issue.message.endsWith(`eceived ${issue.received}`)

const TYPE_NAMES: Record<string, string> = {
  Object: 'an object',
  Array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
}

/**
 * An issue as a sentence about its field: `reason is required`, `type must be "a" | "b", got "c"`,
 * `name has an invalid length: expected >=1, got 0`. Messages a schema sets itself are kept.
 */
export const readableIssue = (issue: v.BaseIssue<unknown>, path: string): string => {
  if (!isDefaultMessage(issue)) return issue.message
  const field = path === '(root)' ? 'the body' : path
  if (issue.expected === 'never') return `${field} is not a known field`
  if (issue.kind === 'schema' && issue.input === undefined) return `${field} is required`
  const expected = issue.expected?.replace(/^\((.*)\)$/, '$1')
  if (issue.kind === 'schema') {
    const type = expected ?? issue.type
    return `${field} must be ${TYPE_NAMES[type] ?? type}, got ${issue.received}`
  }
  const what = issue.message.slice('Invalid '.length, issue.message.indexOf(':'))
  return expected
    ? `${field} has an invalid ${what}: expected ${expected}, got ${issue.received}`
    : `${field} is not a valid ${what}, got ${issue.received}`
}

export const issuesToDetails = (issues: readonly v.BaseIssue<unknown>[], prefix = ''): FieldIssue[] =>
  issues.map((issue) => {
    const path = [prefix, issuePath(issue)].filter(Boolean).join('.') || '(root)'
    return { path, message: readableIssue(issue, path) }
  })

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
  if (!isDefaultMessage(issue)) return issue.message
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

/** 400 `invalid_input`: the first issue in the message, every issue in `details`. */
export const invalidInput = (issues: readonly v.BaseIssue<unknown>[], prefix = ''): HttpError => {
  const details = issuesToDetails(issues, prefix)
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : ''
  const first = details[0] ? `: ${details[0].message}${more}` : ''
  return new HttpError(400, 'invalid_input', `The request is not valid${first}`, details)
}
