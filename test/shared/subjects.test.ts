import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EVENT_TYPES } from '../../shared/event-types'
import {
  MAX_SUBJECT_LENGTH,
  patternCovers,
  subjectMatches,
  validateSubject,
} from '../../shared/subject-validation'
import {
  eventTypeForSubject,
  STREAM_SUBJECTS,
  SWAP_COMMAND_SUBJECT,
  SWAP_VALIDATE_SUBJECT,
  subjectFor,
} from '../../shared/subjects'

describe('subjects', () => {
  it('lists exactly the 16 event subjects in the stream, explicitly', () => {
    expect(STREAM_SUBJECTS).toHaveLength(16)
    expect(new Set(STREAM_SUBJECTS).size).toBe(16)
    expect([...STREAM_SUBJECTS].sort()).toEqual(EVENT_TYPES.map((type) => `library.${type}`).sort())
    for (const subject of STREAM_SUBJECTS) {
      expect(subject).not.toMatch(/[*>]/)
      expect(validateSubject(subject, { wildcards: false }).ok).toBe(true)
    }
  })

  it('keeps the request subjects out of the stream', () => {
    expect(SWAP_COMMAND_SUBJECT).toBe('library.swap.command')
    expect(SWAP_VALIDATE_SUBJECT).toBe('library.swap.validate')
    for (const request of [SWAP_COMMAND_SUBJECT, SWAP_VALIDATE_SUBJECT]) {
      expect(STREAM_SUBJECTS).not.toContain(request)
      expect(STREAM_SUBJECTS.some((subject) => subjectMatches(subject, request))).toBe(false)
    }
  })

  it('maps event types to subjects and back', () => {
    expect(subjectFor('performance.threshold_exceeded')).toBe('library.performance.threshold_exceeded')
    for (const type of EVENT_TYPES) expect(eventTypeForSubject(subjectFor(type))).toBe(type)
    expect(eventTypeForSubject(SWAP_COMMAND_SUBJECT)).toBeUndefined()
    expect(eventTypeForSubject('library.entity.*')).toBeUndefined()
    expect(eventTypeForSubject('entity.registered')).toBeUndefined()
  })
})

const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 8 }).map((tokens) => tokens.join('.'))
/** A valid pattern: tokens, some replaced by `*`, optionally ending in `>`. */
const pattern = fc
  .tuple(fc.array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 8 }), fc.boolean())
  .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens).join('.'))

const insertAt = (text: string, at: number, insert: string) => {
  const index = at % (text.length + 1)
  return text.slice(0, index) + insert + text.slice(index)
}

describe('validateSubject', () => {
  it('accepts any dot-joined valid tokens, with or without wildcards allowed', () => {
    fc.assert(
      fc.property(subject, (s) => {
        expect(validateSubject(s, { wildcards: false })).toEqual({ ok: true, subject: s })
        expect(validateSubject(s, { wildcards: true })).toEqual({ ok: true, subject: s })
      }),
    )
  })

  it('rejects any subject containing whitespace, CR or LF', () => {
    const whitespace = fc.constantFrom(' ', '\t', '\r', '\n', '\r\n', '\u00a0', '\u2028', '\v', '\f')
    fc.assert(
      fc.property(subject, whitespace, fc.nat(), fc.boolean(), (s, ws, at, wildcards) => {
        expect(validateSubject(insertAt(s, at, ws), { wildcards }).ok).toBe(false)
      }),
    )
  })

  it('rejects any character outside [A-Za-z0-9_$-] inside a token', () => {
    const bad = fc
      .string({ minLength: 1, maxLength: 1, unit: 'binary' })
      .filter((c) => !/[A-Za-z0-9_$.*>-]/.test(c))
    fc.assert(
      fc.property(
        fc.array(token, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        bad,
        fc.boolean(),
        (tokens, i, c, w) => {
          const index = i % tokens.length
          const broken = tokens.map((t, j) => (j === index ? t + c : t)).join('.')
          expect(validateSubject(broken, { wildcards: w }).ok).toBe(false)
        },
      ),
    )
  })

  it('rejects empty tokens: leading, trailing or doubled dots', () => {
    fc.assert(
      fc.property(
        fc.array(token, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.boolean(),
        (tokens, at, w) => {
          const index = at % (tokens.length + 1)
          const withEmpty = [...tokens.slice(0, index), '', ...tokens.slice(index)].join('.')
          expect(validateSubject(withEmpty, { wildcards: w }).ok).toBe(false)
        },
      ),
    )
    for (const s of ['', '.', '..', 'a..b', '.a', 'a.'])
      expect(validateSubject(s, { wildcards: true }).ok).toBe(false)
  })

  it('rejects `>` anywhere but as the last token, and wildcards glued to a token', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 6 }), fc.nat(), (tokens, at) => {
        const index = at % tokens.length
        const misplaced = [...tokens.slice(0, index), '>', ...tokens.slice(index)].join('.')
        expect(validateSubject(misplaced, { wildcards: true }).ok).toBe(false)
      }),
    )
    for (const s of ['a>', 'a.b*', 'a.*b', 'a.>>', 'a.**', '>.>'])
      expect(validateSubject(s, { wildcards: true }).ok).toBe(false)
  })

  it('accepts wildcard patterns only where wildcards are allowed', () => {
    fc.assert(
      fc.property(pattern, (p) => {
        expect(validateSubject(p, { wildcards: true }).ok).toBe(true)
        expect(validateSubject(p, { wildcards: false }).ok).toBe(/[*>]/.test(p) === false)
      }),
    )
    expect(validateSubject('library.>', { wildcards: false }).ok).toBe(false)
    expect(validateSubject('library.*.registered', { wildcards: false }).ok).toBe(false)
    expect(validateSubject('>', { wildcards: true }).ok).toBe(true)
  })

  it(`caps the length at ${MAX_SUBJECT_LENGTH}`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.boolean(), (length, w) => {
        const s = 'a'.repeat(length)
        expect(validateSubject(s, { wildcards: w }).ok).toBe(length <= MAX_SUBJECT_LENGTH)
      }),
    )
    const parts = Array.from({ length: 65 }, () => 'abc').join('.')
    expect(parts.length).toBeGreaterThan(MAX_SUBJECT_LENGTH)
    expect(validateSubject(parts, { wildcards: false }).ok).toBe(false)
  })

  it('explains what is wrong', () => {
    const result = validateSubject('a b', { wildcards: false })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toMatch(/token/)
  })
})

/** Small alphabet so that random subjects and patterns often match each other. */
const smallToken = fc.constantFrom('a', 'b')
const smallSubject = fc.array(smallToken, { minLength: 1, maxLength: 4 })
const smallPattern = fc
  .tuple(fc.array(fc.oneof(smallToken, fc.constant('*')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens).join('.'))

/** Makes a pattern at least as general as `p`: some tokens become `*`, or the tail becomes `>`. */
const generalise = (p: string, stars: boolean[], cut: number | null): string => {
  const tokens = p.split('.')
  const starred = tokens.map((t, i) => (t !== '>' && stars[i % stars.length] ? '*' : t))
  if (cut === null) return starred.join('.')
  const keep = cut % tokens.length
  return [...starred.slice(0, keep), '>'].join('.')
}

describe('subjectMatches', () => {
  it('a literal subject matches itself and nothing longer or shorter', () => {
    fc.assert(
      fc.property(subject, token, (s, extra) => {
        expect(subjectMatches(s, s)).toBe(true)
        expect(subjectMatches(s, `${s}.${extra}`)).toBe(false)
        expect(subjectMatches(`${s}.${extra}`, s)).toBe(false)
      }),
    )
  })

  it('`*` matches exactly one token and a final `>` one or more', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 2, maxLength: 6 }), fc.nat(), (tokens, at) => {
        const index = at % tokens.length
        const starred = tokens.map((t, i) => (i === index ? '*' : t)).join('.')
        expect(subjectMatches(starred, tokens.join('.'))).toBe(true)
        const prefix = tokens.slice(0, index)
        expect(subjectMatches([...prefix, '>'].join('.'), tokens.join('.'))).toBe(true)
        expect(subjectMatches([...tokens, '>'].join('.'), tokens.join('.'))).toBe(false)
      }),
    )
    expect(subjectMatches('library.*', 'library.entity.registered')).toBe(false)
    expect(subjectMatches('library.>', 'library')).toBe(false)
  })
})

describe('patternCovers', () => {
  it('is reflexive', () => {
    fc.assert(
      fc.property(pattern, (p) => {
        expect(patternCovers(p, p)).toBe(true)
      }),
    )
  })

  it('agrees with subjectMatches when the requested side is a literal subject', () => {
    fc.assert(
      fc.property(smallPattern, smallSubject, (p, tokens) => {
        const s = tokens.join('.')
        expect(patternCovers(p, s)).toBe(subjectMatches(p, s))
      }),
    )
  })

  it('a generalised pattern covers the one it came from', () => {
    fc.assert(
      fc.property(
        smallPattern,
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.option(fc.nat()),
        (p, stars, cut) => {
          expect(patternCovers(generalise(p, stars, cut), p)).toBe(true)
        },
      ),
    )
  })

  it('if a covers b and b matches s, then a matches s', () => {
    fc.assert(
      fc.property(
        smallPattern,
        smallSubject,
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.option(fc.nat()),
        (a, tokens, stars, cut) => {
          const s = tokens.join('.')
          const b = generalise(s, stars, cut)
          expect(subjectMatches(b, s)).toBe(true)
          if (patternCovers(a, b)) expect(subjectMatches(a, s)).toBe(true)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('the same holds for covering pairs built on purpose', () => {
    fc.assert(
      fc.property(
        smallSubject,
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.option(fc.nat()),
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.option(fc.nat()),
        (tokens, stars1, cut1, stars2, cut2) => {
          const s = tokens.join('.')
          const b = generalise(s, stars1, cut1)
          const a = generalise(b, stars2, cut2)
          expect(subjectMatches(b, s)).toBe(true)
          expect(patternCovers(a, b)).toBe(true)
          expect(subjectMatches(a, s)).toBe(true)
        },
      ),
    )
  })

  it('a narrower scope never covers a wider request', () => {
    expect(patternCovers('library.entity.*', 'library.>')).toBe(false)
    expect(patternCovers('library.entity.registered', 'library.entity.*')).toBe(false)
    expect(patternCovers('library.*.registered', 'library.>')).toBe(false)
    expect(patternCovers('library.>', 'library.entity.*')).toBe(true)
    expect(patternCovers('library.*.*', 'library.entity.*')).toBe(true)
    expect(patternCovers('library.>', 'library')).toBe(false)
  })
})
