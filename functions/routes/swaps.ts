import type { Context } from 'hono'
import { Hono } from 'hono'
import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { SwapRequest } from '../../shared/swap'
import { getSwap, listSwaps } from '../db/swaps'
import { SWAP_STATUSES } from '../domain/swap-state'
import type { HonoEnv } from '../env'
import { CursorParam, encodeCursor, LimitParam } from '../lib/request-input'
import { idParam, jsonBody, optionalJsonBody, queryInput } from '../lib/validate'
import { actionContext } from '../services/context'
import {
  beginSwap,
  checkRollback,
  commandFor,
  finishRollback,
  finishSwap,
  swapNotFound,
  swapView,
} from '../services/swaps'
import { awaitStoredReply, parseIdempotencyKey } from '../swaps/idempotency'
import type { SwapReply } from '../swaps/outcome'
import { relaySwapCommand } from '../swaps/relay'
import { swapDocs } from './swaps.doc'

export const RollbackSwapBody = v.strictObject({
  reason: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(2_000))),
})

export const ListSwapsQuery = v.strictObject({
  status: v.optional(v.picklist(SWAP_STATUSES)),
  entity_id: v.optional(Uuid),
  cursor: CursorParam,
  limit: LimitParam(50, 100),
})

const send = (c: Context<HonoEnv>, reply: SwapReply, replayed = false) =>
  c.json(reply.body, reply.status, replayed ? { 'idempotent-replayed': 'true' } : undefined)

export const swapRoutes = new Hono<HonoEnv>()
  .post('/', swapDocs.request, jsonBody(SwapRequest), async (c) => {
    const request = c.req.valid('json')
    const key = parseIdempotencyKey(c.req.header('idempotency-key'))
    const ctx = actionContext(c)
    const start = await beginSwap(c.var.db, request, ctx, key)
    if (start.kind === 'replay') return send(c, start.reply, true)
    if (start.kind === 'in_progress')
      return send(c, await awaitStoredReply(c.var.db, c.var.actor, key!, c.var.config.SWAP_TIMEOUT_MS), true)
    const { config } = c.var
    const command = commandFor(start.swap, 'execute', config.SWAP_TIMEOUT_MS)
    const outcome = await relaySwapCommand(config, command, config.SWAP_TIMEOUT_MS, ctx)
    return send(c, await finishSwap(c.var.db, start.swap, outcome, ctx, key, start.ready))
  })
  .get('/', swapDocs.list, queryInput(ListSwapsQuery), async (c) => {
    const query = c.req.valid('query')
    const { rows, nextSeq } = await listSwaps(c.var.db, {
      status: query.status,
      entityId: query.entity_id?.toLowerCase(),
      afterSeq: query.cursor,
      limit: query.limit,
    })
    return c.json({ items: rows.map(swapView), next_cursor: nextSeq === null ? null : encodeCursor(nextSeq) })
  })
  .get('/:id', swapDocs.get, idParam, async (c) => {
    const { id } = c.req.valid('param')
    const swap = await getSwap(c.var.db, id)
    if (!swap) throw swapNotFound(id)
    return c.json(swapView(swap))
  })
  .post('/:id/rollback', swapDocs.rollback, idParam, optionalJsonBody(RollbackSwapBody), async (c) => {
    const { id } = c.req.valid('param')
    const body = c.req.valid('json')
    const ctx = actionContext(c)
    const swap = await checkRollback(c.var.db, id)
    const reason = body.reason ?? `rollback of swap ${swap.id}`
    const { config } = c.var
    const command = commandFor(swap, 'rollback', config.SWAP_TIMEOUT_MS, reason)
    const outcome = await relaySwapCommand(config, command, config.SWAP_TIMEOUT_MS, ctx)
    return send(c, await finishRollback(c.var.db, swap, outcome, reason, ctx))
  })
