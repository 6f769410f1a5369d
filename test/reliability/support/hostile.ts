import fc from 'fast-check'

/** Resolves with `promise`, or rejects when it has not settled after `ms` (a hang). */
export const noHang = <T>(promise: Promise<T>, ms = 15_000, what = 'request'): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })

const nested = (depth: number, leaf: string) =>
  depth % 2 === 0
    ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`

/** Numbers JSON allows but JavaScript rounds, overflows or treats specially. */
export const hugeNumberText = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '-0',
  '0.0000000000000000000000001',
  '9007199254740993',
  '1E+308',
  '4.9e-325',
)

/** Unicode of every kind, lone surrogates and control characters included. */
export const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.constantFrom(
    '\u0000',
    '\r\n',
    '\ud800',
    '\udfff',
    '\u202e',
    '\ufeff',
    'é'.normalize('NFD'),
    '💥'.repeat(20),
  ),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
)

/** A JSON value, as text: random shapes, deep nesting, huge numbers, long and odd strings. */
export const hostileJsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), hugeNumberText).map(([d, leaf]) => nested(d, leaf)),
  anyText.map((s) => JSON.stringify(s)),
  fc.dictionary(anyText, fc.oneof(fc.jsonValue({ maxDepth: 3 }), anyText)).map((o) => JSON.stringify(o)),
)

/** Any request body: mostly JSON, sometimes not JSON at all. */
export const hostileBody = fc.oneof(
  { weight: 4, arbitrary: hostileJsonText },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => new TextDecoder().decode(b)) },
)

/** `base` with some fields replaced by hostile values, removed or added. */
export const mutated = (base: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .tuple(
      base,
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('event_type', 'event_id', 'entity_id', 'data', 'timestamp', 'metadata'),
          anyText,
        ),
        fc.oneof(fc.jsonValue({ maxDepth: 3 }), anyText, hugeNumberText.map(Number), fc.constant(undefined)),
        { maxKeys: 3 },
      ),
    )
    .map(([obj, patch]) => ({ ...obj, ...patch }))

export const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=latin1',
)
