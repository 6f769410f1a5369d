import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { errorBody, HttpError, invalidInput, issuesToDetails } from '../../shared/http-error'

const Body = v.object({
  name: v.string(),
  tags: v.array(v.pipe(v.string(), v.minLength(1))),
  config: v.object({ window: v.number(), limits: v.record(v.string(), v.number()) }),
})

const issuesOf = (schema: v.GenericSchema, input: unknown) => {
  const result = v.safeParse(schema, input)
  if (result.success) throw new Error('expected the input to be invalid')
  return result.issues
}

describe('issuesToDetails', () => {
  it('joins nested object keys, array indices and record keys with dots', () => {
    const issues = issuesOf(Body, {
      name: 1,
      tags: ['ok', ''],
      config: { window: 'x', limits: { max: 'high' } },
    })
    expect(issuesToDetails(issues).map((d) => d.path)).toEqual([
      'name',
      'tags.1',
      'config.window',
      'config.limits.max',
    ])
  })

  it('keeps each issue message', () => {
    const [detail] = issuesToDetails(
      issuesOf(v.object({ id: v.pipe(v.string(), v.uuid('must be a UUID')) }), { id: 'x' }),
    )
    expect(detail).toEqual({ path: 'id', message: 'must be a UUID' })
  })

  it('names a whole-document issue (root)', () => {
    expect(issuesToDetails(issuesOf(Body, 'not an object'))).toEqual([
      { path: '(root)', message: expect.any(String) },
    ])
  })

  it('puts a prefix in front, alone for root issues', () => {
    expect(
      issuesToDetails(issuesOf(Body, { ...validBody(), name: 2 }), 'events.3').map((d) => d.path),
    ).toEqual(['events.3.name'])
    expect(issuesToDetails(issuesOf(Body, null), 'events.0').map((d) => d.path)).toEqual(['events.0'])
  })

  it('reports a missing key at its path', () => {
    const { name: _, ...rest } = validBody()
    expect(issuesToDetails(issuesOf(Body, rest)).map((d) => d.path)).toEqual(['name'])
  })
})

const validBody = () => ({ name: 'n', tags: [], config: { window: 1, limits: {} } })

describe('issue messages read as sentences about the field', () => {
  const Strict = v.strictObject({
    reason: v.string(),
    kind: v.picklist(['a', 'b']),
    id: v.optional(v.pipe(v.string(), v.uuid())),
    name: v.optional(v.pipe(v.string(), v.minLength(3))),
    custom: v.optional(v.pipe(v.string(), v.regex(/^x/, 'must start with x'))),
  })

  it('names a missing, unknown, mistyped or invalid field', () => {
    const details = issuesToDetails(
      issuesOf(Strict, { kind: 'c', id: 'zz', name: 'ab', custom: 'y', extra: 1 }),
      'body',
    )
    expect(details).toEqual([
      { path: 'body.reason', message: 'body.reason is required' },
      { path: 'body.kind', message: 'body.kind must be "a" | "b", got "c"' },
      { path: 'body.id', message: 'body.id is not a valid UUID, got "zz"' },
      { path: 'body.name', message: 'body.name has an invalid length: expected >=3, got 2' },
      { path: 'body.custom', message: 'must start with x' },
      { path: 'body.extra', message: 'body.extra is not a known field' },
    ])
    expect(issuesToDetails(issuesOf(Strict, 'text'))).toEqual([
      { path: '(root)', message: 'the body must be an object, got "text"' },
    ])
  })

  it('puts the first one in the error message', () => {
    expect(invalidInput(issuesOf(Strict, { kind: 'a' })).message).toBe(
      'The request is not valid: reason is required',
    )
    expect(invalidInput(issuesOf(Strict, { kind: 'c' })).message).toBe(
      'The request is not valid: reason is required (and 1 more)',
    )
  })
})

describe('invalidInput and errorBody', () => {
  it('builds a 400 invalid_input HttpError carrying the field issues', () => {
    const error = invalidInput(issuesOf(Body, { ...validBody(), tags: [''] }), 'body')
    expect(error).toBeInstanceOf(HttpError)
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ status: 400, code: 'invalid_input', name: 'HttpError' })
    expect(error.details).toEqual([{ path: 'body.tags.0', message: expect.any(String) }])
  })

  it('shapes the error body, leaving details out when there are none', () => {
    expect(errorBody('not_found', 'No such entity', 'req-1')).toEqual({
      error: { code: 'not_found', message: 'No such entity', request_id: 'req-1' },
    })
    expect(errorBody('conflict', 'Taken', 'req-2', { field: 'name' })).toEqual({
      error: { code: 'conflict', message: 'Taken', request_id: 'req-2', details: { field: 'name' } },
    })
  })
})
