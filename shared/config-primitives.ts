import * as v from 'valibot'

/**
 * Schemas for configuration read from text (environment variables, Worker bindings). Their
 * messages never quote the value: a variable may hold a credential, and the message is logged.
 * Each takes the text with blanks already turned into `undefined` (see `presentValues`).
 */

/** A variable that is unset or blank is absent; others lose their surrounding whitespace. */
export const presentValues = (env: Record<string, string | undefined>): Record<string, string | undefined> =>
  Object.fromEntries(
    Object.entries(env).map(([name, value]) => {
      const trimmed = value?.trim()
      return [name, trimmed === '' ? undefined : trimmed]
    }),
  )

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `500ms`, `30s`, `2m`, `1h`, `7d`, or plain milliseconds. */
export const parseDuration = (raw: string): number | undefined => {
  const match = DURATION.exec(raw)
  if (!match) return undefined
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1))
}

/** A whole number between `min` and `max`. */
const wholeNumber = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^-?\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.number(),
    v.minValue(min, `must be between ${min} and ${max}`),
    v.maxValue(max, `must be between ${min} and ${max}`),
  )

/** A whole number between `min` and `max`, `fallback` when absent. */
export const intText = (fallback: number, min: number, max: number) =>
  v.optional(wholeNumber(min, max), String(fallback))

/** A whole number between `min` and `max`, or `undefined` when absent (its default depends on another). */
export const optionalIntText = (min: number, max: number) => v.optional(wholeNumber(min, max))

/** A number from 0 to 1. */
export const fractionText = (fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.transform(Number),
      v.check((n) => Number.isFinite(n) && n >= 0 && n <= 1, 'must be a number between 0 and 1'),
    ),
    String(fallback),
  )

/** A duration (`parseDuration`) of at least `minMs`, in milliseconds. */
export const durationText = (fallback: string, minMs: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const ms = parseDuration(dataset.value)
        if (ms !== undefined) return ms
        addIssue({ message: 'must be a duration like 500ms, 30s, 2m or 7d' })
        return NEVER
      }),
      v.minValue(minMs, `must be at least ${minMs} ms`),
    ),
    fallback,
  )

/** `true`/`false` (or `1`/`0`, in any case). */
export const booleanText = (fallback: boolean) =>
  v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => s.toLowerCase()),
      v.picklist(['true', 'false', '1', '0'], "must be 'true' or 'false'"),
      v.transform((s) => s === 'true' || s === '1'),
    ),
    String(fallback),
  )

/** One of `options`. */
export const choiceText = <const T extends readonly [string, ...string[]]>(options: T, fallback: T[number]) =>
  v.optional(v.picklist(options, `must be one of ${options.join(', ')}`), fallback)

/** JSON text whose value `schema` parses. */
export const jsonText = <T extends v.GenericSchema>(schema: T) =>
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return JSON.parse(dataset.value) as unknown
      } catch {
        addIssue({ message: 'is not valid JSON' })
        return NEVER
      }
    }),
    schema,
  )

/**
 * Runs a parser that throws on bad input; its message becomes the issue (it must not quote the
 * value either).
 */
export const parsedBy = <I, O>(parse: (input: I) => O) =>
  v.rawTransform<I, O>(({ dataset, addIssue, NEVER }) => {
    try {
      return parse(dataset.value)
    } catch (err) {
      addIssue({ message: err instanceof Error ? err.message : String(err) })
      return NEVER
    }
  })
