import * as v from 'valibot'

/** `limit` query parameter: 1..max, default `fallback`. */
export const LimitParam = (fallback: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.regex(/^\d{1,6}$/, `must be a whole number between 1 and ${max}`),
    v.transform(Number),
    v.number(),
    v.minValue(1, `must be between 1 and ${max}`),
    v.maxValue(max, `must be between 1 and ${max}`),
    // what the OpenAPI description shows: the parsed value, not the query string it comes from
    v.metadata({ type: 'integer', default: fallback }),
  )

const CursorPayload = v.strictObject({ after: v.pipe(v.string(), v.regex(/^[1-9]\d{0,18}$/)) })

const toBase64Url = (text: string) => btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')

export const encodeCursor = (seq: string): string => toBase64Url(JSON.stringify({ after: seq }))

/** Opaque pagination cursor: base64url JSON holding the last row's position. */
export const CursorParam = v.optional(
  v.pipe(
    v.string(),
    v.maxLength(200, 'is not a valid cursor'),
    v.regex(/^[A-Za-z0-9_-]+$/, 'is not a valid cursor'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        const json = atob(dataset.value.replaceAll('-', '+').replaceAll('_', '/'))
        const parsed = v.safeParse(CursorPayload, JSON.parse(json))
        if (parsed.success) return parsed.output.after
      } catch {}
      addIssue({ message: 'is not a valid cursor' })
      return NEVER
    }),
  ),
)
