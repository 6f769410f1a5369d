import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { HttpError } from '../../shared/http-error'
import type { SwapRequest } from '../../shared/swap'
import type { Queryable } from '../db/sql'
import { getIdempotencyKey, type IdempotencyRecord } from '../db/swaps'
import type { SwapReply } from './outcome'

/** The Idempotency-Key of POST /swaps: what a retry carries, and what the key already holds. */

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/
const REPLAY_POLL_MS = 250
/** How long a retry waits for the request holding its key, beyond the swap timeout. */
const REPLAY_GRACE_MS = 10_000

/** The header's value, if given; anything but 1-255 visible ASCII characters is a 400. */
export const parseIdempotencyKey = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  if (!IDEMPOTENCY_KEY.test(header))
    throw new HttpError(400, 'invalid_input', 'The request is not valid', [
      { path: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
    ])
  return header
}

/** Stable over key order and id case, so a retry of the same request hashes the same. */
export const requestHash = async (request: SwapRequest): Promise<string> => {
  const canonical = JSON.stringify([
    request.from_entity_id.toLowerCase(),
    request.to_entity_id.toLowerCase(),
    request.reason,
    request.initiated_by,
    request.validate_only,
  ])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

export type HeldKey =
  /** The key was used before and that request has finished: its reply is the answer. */
  | { kind: 'replay'; reply: SwapReply }
  /** The key is held by a request still in flight. */
  | { kind: 'in_progress' }

/** The reply stored under a key, once the request holding it has finished. */
const finishedReply = (record: IdempotencyRecord | null): SwapReply | undefined =>
  record?.status_code == null
    ? undefined
    : { status: record.status_code as ContentfulStatusCode, body: record.response }

/** What a key already held means for a request that carries it; another body under it is a 422. */
export const heldKey = (previous: IdempotencyRecord | null, hash: string, key: string): HeldKey => {
  if (previous && previous.request_hash !== hash)
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request body',
      {
        idempotency_key: key,
      },
    )
  const reply = finishedReply(previous)
  return reply ? { kind: 'replay', reply } : { kind: 'in_progress' }
}

/**
 * A concurrent request holds the key: wait for its answer rather than relaying a second command.
 * Gives up (409) once the holder would have timed out.
 */
export const awaitStoredReply = async (
  db: Queryable,
  actor: string,
  key: string,
  swapTimeoutMs: number,
): Promise<SwapReply> => {
  const deadline = Date.now() + swapTimeoutMs + REPLAY_GRACE_MS
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS))
    const reply = finishedReply(await getIdempotencyKey(db, actor, key))
    if (reply) return reply
  }
  throw new HttpError(
    409,
    'idempotency_in_progress',
    'A request with this Idempotency-Key is still in progress',
    {
      idempotency_key: key,
    },
  )
}
