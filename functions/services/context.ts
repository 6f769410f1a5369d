import type { Context } from 'hono'
import type { TraceContext } from '../../shared/trace-context'
import type { HonoEnv } from '../env'

/** Who asked for a change, and in which trace; recorded in the metadata of every event it produces. */
export interface ActionContext {
  actor: string
  requestId: string
  /** The caller's W3C trace context, when its request carried a valid one. */
  trace?: TraceContext
}

/** The action context of a request: its actor (the API key's name unless given), id and trace context. */
export const actionContext = (c: Context<HonoEnv>, actor: string = c.var.actor): ActionContext => {
  const trace = c.var.trace
  return trace ? { actor, requestId: c.var.requestId, trace } : { actor, requestId: c.var.requestId }
}

export const eventMetadata = (ctx: ActionContext) => ({
  actor: ctx.actor,
  request_id: ctx.requestId,
  ...(ctx.trace && { traceparent: ctx.trace.traceparent }),
  ...(ctx.trace?.tracestate && { tracestate: ctx.trace.tracestate }),
})
