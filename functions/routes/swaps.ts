import type { Context } from 'hono'
import { Hono } from 'hono'
import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { HttpError } from '../../shared/http-error'
import { SwapRequest } from '../../shared/swap'
import { getSwap, listSwaps, SWAP_STATUSES } from '../db/swaps'
import type { HonoEnv } from '../env'
import { CursorParam, encodeCursor, LimitParam } from '../lib/request-input'
import { idParam, jsonBody, optionalJsonBody, queryInput } from '../lib/validate'
import {
  beginSwap,
  checkRollback,
  commandFor,
  finishRollback,
  finishSwap,
  type SwapReply,
  storedReply,
  swapNotFound,
  swapView,
} from '../services/swaps'
import { relaySwapCommand } from '../swaps/relay'

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/
const REPLAY_POLL_MS = 250
/** How long a retry waits for the request holding its key, beyond the swap timeout. */
const REPLAY_GRACE_MS = 10_000

export const RollbackSwapBody = v.strictObject({
  reason: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(2_000))),
})

export const ListSwapsQuery = v.strictObject({
  status: v.optional(v.picklist(SWAP_STATUSES)),
  entity_id: v.optional(Uuid),
  cursor: CursorParam,
  limit: LimitParam(50, 100),
})

const idempotencyKey = (c: Context<HonoEnv>): string | undefined => {
  const key = c.req.header('idempotency-key')
  if (key === undefined) return undefined
  if (!IDEMPOTENCY_KEY.test(key))
    throw new HttpError(400, 'invalid_input', 'The request is not valid', [
      { path: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
    ])
  return key
}

const send = (c: Context<HonoEnv>, reply: SwapReply, replayed = false) =>
  c.json(reply.body, reply.status, replayed ? { 'idempotent-replayed': 'true' } : undefined)

/** A concurrent request holds the key: wait for its answer rather than relaying a second command. */
const awaitStoredReply = async (c: Context<HonoEnv>, key: string) => {
  const deadline = Date.now() + c.var.config.SWAP_TIMEOUT_MS + REPLAY_GRACE_MS
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS))
    const reply = await storedReply(c.var.db, c.var.actor, key)
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

export const swapRoutes = new Hono<HonoEnv>()
  .post('/', jsonBody(SwapRequest), async (c) => {
    const request = c.req.valid('json')
    const key = idempotencyKey(c)
    const ctx = { actor: c.var.actor, requestId: c.var.requestId }
    const start = await beginSwap(c.var.db, request, ctx, key)
    if (start.kind === 'replay') return send(c, start.reply, true)
    if (start.kind === 'in_progress') return send(c, await awaitStoredReply(c, key!), true)
    const { config } = c.var
    const command = commandFor(start.swap, 'execute', config.SWAP_TIMEOUT_MS)
    const outcome = await relaySwapCommand(config, command, config.SWAP_TIMEOUT_MS, ctx.requestId)
    const { reply } = await finishSwap(c.var.db, start.swap, outcome, ctx, key, start.ready)
    return send(c, reply)
  })
  .get('/', queryInput(ListSwapsQuery), async (c) => {
    const query = c.req.valid('query')
    const { rows, nextSeq } = await listSwaps(c.var.db, {
      status: query.status,
      entityId: query.entity_id?.toLowerCase(),
      afterSeq: query.cursor,
      limit: query.limit,
    })
    return c.json({ items: rows.map(swapView), next_cursor: nextSeq === null ? null : encodeCursor(nextSeq) })
  })
  .get('/:id', idParam, async (c) => {
    const { id } = c.req.valid('param')
    const swap = await getSwap(c.var.db, id)
    if (!swap) throw swapNotFound(id)
    return c.json(swapView(swap))
  })
  .post('/:id/rollback', idParam, optionalJsonBody(RollbackSwapBody), async (c) => {
    const { id } = c.req.valid('param')
    const body = c.req.valid('json')
    const ctx = { actor: c.var.actor, requestId: c.var.requestId }
    const swap = await checkRollback(c.var.db, id)
    const reason = body.reason ?? `rollback of swap ${swap.id}`
    const { config } = c.var
    const command = commandFor(swap, 'rollback', config.SWAP_TIMEOUT_MS, reason)
    const outcome = await relaySwapCommand(config, command, config.SWAP_TIMEOUT_MS, ctx.requestId)
    const { reply } = await finishRollback(c.var.db, swap, outcome, reason, ctx)
    return send(c, reply)
  })
