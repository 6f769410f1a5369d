/** Who asked for a change; recorded in the metadata of every event it produces. */
export interface ActionContext {
  actor: string
  requestId: string
}

export const eventMetadata = (ctx: ActionContext) => ({ actor: ctx.actor, request_id: ctx.requestId })
