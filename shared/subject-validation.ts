export const MAX_SUBJECT_LENGTH = 256
/** `$` is allowed so that `$JS…` and the like are refused as reserved, not as malformed. */
const TOKEN = /^[A-Za-z0-9_$-]+$/

export type SubjectCheck = { ok: true; subject: string } | { ok: false; reason: string }

/**
 * Checks a subject (or, with `wildcards`, a subscription pattern) that came from outside.
 * The `nats` client would pass spaces and CR/LF straight onto the wire.
 */
export const validateSubject = (input: string, { wildcards }: { wildcards: boolean }): SubjectCheck => {
  if (input.length === 0) return { ok: false, reason: 'subject is empty' }
  if (input.length > MAX_SUBJECT_LENGTH)
    return { ok: false, reason: `subject longer than ${MAX_SUBJECT_LENGTH}` }
  const tokens = input.split('.')
  for (const [index, token] of tokens.entries()) {
    if (token === '') return { ok: false, reason: 'subject has an empty token' }
    if (token === '*' || token === '>') {
      if (!wildcards) return { ok: false, reason: 'wildcards are not allowed here' }
      if (token === '>' && index !== tokens.length - 1)
        return { ok: false, reason: "'>' must be the last token" }
      continue
    }
    if (!TOKEN.test(token)) return { ok: false, reason: `invalid token '${token.slice(0, 32)}'` }
  }
  return { ok: true, subject: input }
}

/** NATS matching: `*` matches one token, a final `>` one or more. */
export const subjectMatches = (pattern: string, subject: string): boolean => {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length) return false
    if (p[i] !== '*' && p[i] !== s[i]) return false
  }
  return p.length === s.length
}

/** True when every subject matched by `requested` is also matched by `scope`. */
export const patternCovers = (scope: string, requested: string): boolean => {
  const p = scope.split('.')
  const r = requested.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return r.length > i
    if (i >= r.length) return false
    if (r[i] === '>') return false
    if (p[i] === '*') continue
    if (r[i] === '*' || p[i] !== r[i]) return false
  }
  return p.length === r.length
}
