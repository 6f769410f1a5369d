/// <reference path="./provided-context.d.ts" />
import type { TestProject } from 'vitest/node'
import { startStackForTests } from '../support/stack'

export default async function setup(project: TestProject) {
  const stack = await startStackForTests({ databasePrefix: 'workers' })
  project.provide('natsUrl', stack.natsUrl)
  project.provide('databaseUrl', stack.databaseUrl)
  project.provide('relayUrl', stack.relayUrl)
  project.provide('pgWsProxy', stack.pgWsProxy)
  return () => stack.cleanup()
}
