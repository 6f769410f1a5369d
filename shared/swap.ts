import * as v from 'valibot'
import { JsonObject, Uuid } from './domain'

export const SwapRequest = v.strictObject({
  from_entity_id: Uuid,
  to_entity_id: Uuid,
  reason: v.pipe(v.string(), v.minLength(1), v.maxLength(2_000)),
  initiated_by: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  validate_only: v.optional(v.boolean(), false),
})
export type SwapRequest = v.InferOutput<typeof SwapRequest>

/** What goes out on `library.swap.command`: the SwapRequest plus our swap id and the action asked for. */
export const SwapCommand = v.object({
  ...SwapRequest.entries,
  swap_id: Uuid,
  action: v.optional(v.picklist(['execute', 'rollback']), 'execute'),
})
export type SwapCommand = v.InferOutput<typeof SwapCommand>

/** Loose on purpose: executors on the original spec may add fields of their own. */
export const SwapResponse = v.looseObject({
  swap_id: Uuid,
  status: v.pipe(v.string(), v.minLength(1)),
  success: v.boolean(),
  message: v.string(),
  validation_results: v.optional(v.nullable(JsonObject), null),
})
export type SwapResponse = v.InferOutput<typeof SwapResponse>

/** Reply to `library.swap.validate`, the shape the original spec's request/reply test reads. */
export const SwapValidationReply = v.object({
  valid: v.boolean(),
  message: v.string(),
  validation_results: JsonObject,
})
export type SwapValidationReply = v.InferOutput<typeof SwapValidationReply>
