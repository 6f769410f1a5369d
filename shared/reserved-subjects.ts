/**
 * Subjects the system uses for itself. No bridge token reaches them, whatever its patterns say:
 * - every subject whose first token starts with `$` (`$JS`, `$KV`, `$SYS`, `$SRV`, `$O`, …) or `_`
 *   (`_INBOX`, `_R_`, …), in any case;
 * - any subject with an `_INBOX` token, in any position and case (inbox prefixes can be nested);
 * - the webhook dead-letter and replay subjects (`library_dlq.>`, `library_dlq_replay.>`).
 * NATS subjects are case-sensitive; the names are compared case-insensitively anyway so that no
 * spelling of them is ever reachable.
 */
export const DEAD_LETTER_SUBJECT_PREFIX = 'library_dlq'
export const REPLAY_SUBJECT_PREFIX = 'library_dlq_replay'

export type ReservedReason = 'nats_system' | 'inbox' | 'dead_letter'

const INTERNAL_FIRST_TOKENS = new Set([DEAD_LETTER_SUBJECT_PREFIX, REPLAY_SUBJECT_PREFIX])

const reservedToken = (token: string, index: number): ReservedReason | undefined => {
  const lower = token.toLowerCase()
  if (lower === '_inbox') return 'inbox'
  if (index !== 0) return undefined
  if (token.startsWith('$') || token.startsWith('_')) return 'nats_system'
  if (INTERNAL_FIRST_TOKENS.has(lower)) return 'dead_letter'
  return undefined
}

/**
 * Why a subject (or every subject a pattern matches) is reserved, or undefined when it is not.
 * Wildcard tokens are never reserved by themselves: a pattern such as `>` merely overlaps the
 * reserved space, and whoever serves it must drop reserved messages with `isReservedSubject`.
 */
export const reservedReason = (subjectOrPattern: string): ReservedReason | undefined => {
  const tokens = subjectOrPattern.split('.')
  for (const [index, token] of tokens.entries()) {
    const reason = reservedToken(token, index)
    if (reason) return reason
  }
  return undefined
}

export const isReservedSubject = (subject: string): boolean => reservedReason(subject) !== undefined

export const RESERVED_REASON_TEXT: Record<ReservedReason, string> = {
  nats_system: 'subjects starting with $ or _ belong to NATS and the bridge',
  inbox: '_INBOX subjects carry replies to other clients',
  dead_letter: 'dead-letter and replay subjects belong to the webhook delivery',
}
