import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { deadLetterSubject, replaySubject } from '../../bridge/subscriptions/store'
import { firstIssue } from '../../shared/http-error'
import { findTooDeep } from '../../shared/json-depth'
import { reservedReason } from '../../shared/reserved-subjects'
import { REQUEST_SUBJECTS, STREAM_SUBJECTS } from '../../shared/subjects'

describe('reserved subjects', () => {
  it.each([
    ['_INBOX.abc', 'inbox'],
    ['_inbox.abc', 'inbox'],
    ['library._InBoX.x', 'inbox'],
    ['_R_.x', 'nats_system'],
    ['_anything', 'nats_system'],
    ['$JS.API.INFO', 'nats_system'],
    ['$KV.library_subscriptions.hook', 'nats_system'],
    ['$SYS.REQ.SERVER.PING', 'nats_system'],
    ['$SRV.PING', 'nats_system'],
    ['$O.bucket.x', 'nats_system'],
    ['library_dlq.hook', 'dead_letter'],
    ['Library_DLQ_Replay.hook', 'dead_letter'],
  ])('%s is reserved (%s)', (subject, reason) => {
    expect(reservedReason(subject)).toBe(reason)
  })

  it('the webhook service`s dead-letter and replay subjects are reserved', () => {
    expect(reservedReason(deadLetterSubject('audit'))).toBe('dead_letter')
    expect(reservedReason(replaySubject('audit'))).toBe('dead_letter')
  })

  it('event, request and ordinary subjects are not; wildcards alone never are', () => {
    for (const subject of [
      ...STREAM_SUBJECTS,
      ...REQUEST_SUBJECTS,
      'ops.x',
      'a.$b',
      'a._b',
      'x.library_dlq.y',
    ])
      expect({ subject, reason: reservedReason(subject) }).toEqual({ subject, reason: undefined })
    for (const pattern of ['>', '*', '*.>', '*.*', 'library.>'])
      expect({ pattern, reason: reservedReason(pattern) }).toEqual({ pattern, reason: undefined })
  })
})

describe('findTooDeep', () => {
  it('counts a container as one level and returns the path to the first one too deep', () => {
    expect(findTooDeep(1, 1)).toBeUndefined()
    expect(findTooDeep({}, 1)).toBeUndefined()
    expect(findTooDeep({ a: {} }, 1)).toEqual(['a'])
    expect(findTooDeep({ a: {} }, 2)).toBeUndefined()
    expect(findTooDeep({ a: 1, b: [0, [1]] }, 2)).toEqual(['b', 1])
    expect(findTooDeep([[[]]], 2)).toEqual([0, 0])
  })

  it('walks 200,000 levels without recursion', () => {
    const n = 200_000
    const value = JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`)
    expect(findTooDeep(value, 32)).toHaveLength(32)
    expect(findTooDeep(value, n)).toBeUndefined()
  })
})

describe('firstIssue (configuration errors)', () => {
  const SECRET = 'whsec_c2VjcmV0LXZhbHVlLW5vdC10by1zaG93'
  const schema = v.strictObject({
    token: v.pipe(v.string(), v.minLength(16)),
    scopes: v.array(v.picklist(['read', 'write'])),
    count: v.optional(v.number()),
    names: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z]+$/)), v.boolean())),
  })

  it.each([
    [
      'a picklist',
      { token: 'x'.repeat(16), scopes: [SECRET] },
      'scopes.0: expected ("read" | "write"), got a string',
    ],
    ['a type', { token: 'x'.repeat(16), scopes: [], count: SECRET }, 'count: expected number, got a string'],
    ['an unknown field', { token: 'x'.repeat(16), scopes: [], tokn: SECRET }, 'tokn: unknown key'],
    [
      'an unknown key that is not a field name',
      { token: 'x'.repeat(16), scopes: [], [SECRET]: 1 },
      '(key): unknown key',
    ],
    [
      'a record key',
      { token: 'x'.repeat(16), scopes: [], names: { [SECRET]: true } },
      'names.(key): invalid regex: expected /^[a-z]+$/',
    ],
    ['a missing field', { scopes: [] }, 'token: is required'],
  ])('%s', (_name, input, expected) => {
    const result = v.safeParse(schema, input)
    expect(result.success).toBe(false)
    if (result.success) return
    expect(firstIssue(result.issues)).toBe(expected)
    expect(firstIssue(result.issues)).not.toContain('c2VjcmV0')
  })
})
