import { Hono } from 'hono'
import * as v from 'valibot'
import { Uuid } from '../../shared/domain'
import { LibraryEvent } from '../../shared/events'
import { parseJsonText } from '../../shared/http/read-body'
import { HttpError, invalidInput, issuesToDetails } from '../../shared/http-error'
import { bodyReadByRoute } from '../../shared/openapi/describe-route'
import type { SwapValidationReply } from '../../shared/swap'
import type { HonoEnv } from '../env'
import { requireConfig } from '../middleware/config'
import { database } from '../middleware/database'
import { requireForwardToken } from '../middleware/forward-token'
import { reconcileSwapEvent } from '../services/swaps'
import { evaluateSwap, validationResults } from '../swaps/checks'
import { internalSwapDocs } from './internal-swap.doc'

/** Executors may send the whole command (swap_id, action, …): only the two ids matter here. */
export const SwapValidateBody = v.looseObject({ from_entity_id: Uuid, to_entity_id: Uuid })

const MAX_VALIDATE_BYTES = 65_536

/**
 * What the bridge reaches: `library.swap.validate` requests (forward route), and the swap outcome
 * events executors publish when they finish late (forward routes, or a webhook subscription on
 * `library.swap.*`, which delivers the event JSON as its body).
 */
export const internalSwapRoutes = new Hono<HonoEnv>()
  .use(requireConfig(), requireForwardToken(), database())
  .post('/swap/validate', internalSwapDocs.validate, bodyReadByRoute(SwapValidateBody), async (c) => {
    const text = c.var.forwardedBody
    if (new TextEncoder().encode(text).byteLength > MAX_VALIDATE_BYTES)
      throw new HttpError(
        413,
        'payload_too_large',
        `The request body may be at most ${MAX_VALIDATE_BYTES} bytes`,
      )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return c.json<SwapValidationReply>({
        valid: false,
        message: 'The swap request is not valid JSON',
        validation_results: { issues: [{ path: '(root)', message: 'not valid JSON' }] },
      })
    }
    const parsed = v.safeParse(SwapValidateBody, json)
    if (!parsed.success)
      return c.json<SwapValidationReply>({
        valid: false,
        message: 'The swap request is not valid',
        validation_results: { issues: issuesToDetails(parsed.issues) },
      })
    const evaluation = await evaluateSwap(c.var.db, parsed.output)
    return c.json<SwapValidationReply>({
      valid: evaluation.valid,
      message: evaluation.failure?.message ?? 'Swap validation passed',
      validation_results: validationResults(evaluation),
    })
  })
  .post('/swap/events', internalSwapDocs.events, bodyReadByRoute(LibraryEvent), async (c) => {
    const parsed = v.safeParse(LibraryEvent, parseJsonText(c.var.forwardedBody))
    if (!parsed.success) throw invalidInput(parsed.issues)
    const result = await reconcileSwapEvent(c.var.db, parsed.output)
    if (!result) return c.json({ ignored: true, event_type: parsed.output.event_type }, 202)
    return c.json(result)
  })
