export const DEPLOYMENT_STATUSES = ['in_progress', 'completed', 'failed', 'rolled_back'] as const
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number]

export const DEPLOYMENT_ACTIONS = ['complete', 'fail', 'rollback'] as const
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number]

/** Which status each action leaves from, and where it goes. Anything else is an illegal transition. */
export const TRANSITIONS: Record<
  DeploymentAction,
  { from: readonly DeploymentStatus[]; to: DeploymentStatus }
> = {
  complete: { from: ['in_progress'], to: 'completed' },
  fail: { from: ['in_progress'], to: 'failed' },
  rollback: { from: ['completed', 'failed'], to: 'rolled_back' },
}

export const nextStatus = (current: DeploymentStatus, action: DeploymentAction): DeploymentStatus | null => {
  const t = TRANSITIONS[action]
  return t.from.includes(current) ? t.to : null
}
