/// <reference path="./provided-context.d.ts" />
import type { TestProject } from 'vitest/node'
import { startStackForTests } from '../support/stack'

export default async function setup(project: TestProject) {
  const stack = await startStackForTests({ databasePrefix: 'workers' })
  project.provide('natsUrl', stack.natsUrl)
  project.provide('databaseUrl', stack.databaseUrl)
  project.provide('relayUrl', stack.relayUrl)
  project.provide('pgWsProxy', stack.pgWsProxy)
  project.provide('bridgeUrl', stack.bridgeUrl)
  project.provide('bridgeToken', stack.bridgeTokens.functions.token)
  project.provide('bridgeAdminToken', stack.bridgeTokens.admin.token)
  return () => stack.cleanup()
}
